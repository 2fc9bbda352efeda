// Q4_0 matrices re-laid at load time for decode: rows interleaved 8 at a time, so a vector holds
// 4 quantized bytes of each of 8 rows and one pass makes 8 dot products that share the scale
// arithmetic (the per-block epilogue is most of a one-row Q4_0 dot). Same bytes per row as the
// file, so the copy costs no extra memory once the file's pages are dropped.
//
// Layout (Tensor::rows8): for row group g (rows 8g..8g+7) and block b (32 values), 144 bytes at
// (g * n_blocks + b) * 144: d[8] (fp16, one per row), then q[4][32] with q[j][4r + i] =
// qs[4j + i] of row 8g + r's block b (low nibbles: values 4j+i, high nibbles: 16+4j+i).
#pragma once
#include <cstdint>
#include <vector>

#include "core/quant_blocks.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

namespace citadel {

constexpr size_t kRows8BlockBytes = 144;

// The bytes of a re-laid matrix: anonymous memory that asks for huge pages (a 1 GB model then
// takes a few hundred page faults to load instead of a quarter million). Move-only.
class Rows8Buffer {
 public:
  explicit Rows8Buffer(size_t n);
  ~Rows8Buffer();
  Rows8Buffer(Rows8Buffer&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr, o.size_ = 0; }
  Rows8Buffer& operator=(Rows8Buffer&&) = delete;
  Rows8Buffer(const Rows8Buffer&) = delete;
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// True when `w` can be repacked (Q4_0, a 2-D matrix with a multiple of 8 rows).
bool can_repack_rows8(const Tensor& w);
// The repacked bytes of w (same size as w's data), row groups spread over the pool.
Rows8Buffer repack_rows8(const Tensor& w, ThreadPool& pool);
// Row r of a rows8 tensor back in the file's layout (n / 32 blocks).
void rows8_row(const Tensor& w, int64_t r, BlockQ4_0* out);

}  // namespace citadel
