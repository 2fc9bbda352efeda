// Q4_0 matrices re-laid at load time for decode: rows interleaved 8 at a time, so a vector holds
// 4 quantized bytes of each of 8 rows and one pass makes 8 dot products that share the scale
// arithmetic (the per-block epilogue is most of a one-row Q4_0 dot). Same bytes per row as the
// file, so the copy costs no extra memory once the file's pages are dropped. The other matrices
// are copied as they are into huge pages (copy_to_huge_pages), for the TLB.
//
// Layout (Tensor::rows8): for row group g (rows 8g..8g+7) and block b (32 values), 144 bytes at
// (g * n_blocks + b) * 144: d[8] (fp16, one per row), then q[4][32] with q[j][4r + i] =
// qs[4j + i] of row 8g + r's block b (low nibbles: values 4j+i, high nibbles: 16+4j+i).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "core/quant_blocks.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

namespace citadel {

constexpr size_t kRows8BlockBytes = 144;

// Anonymous memory that asks for transparent huge pages, its start aligned to 2 MB so that each
// whole 2 MB of it can be one page: the bytes of re-laid or copied matrices (a 1 GB model then
// takes a few hundred page faults to load instead of a quarter million, and a tile that reads 64
// rows at once touches one or two pages instead of 64). Left out of core dumps, as the decrypted
// bytes of an encrypted model are (core/encrypted_model.h), since it may hold them. Move-only.
class HugePageBuffer {
 public:
  explicit HugePageBuffer(size_t n);
  ~HugePageBuffer();
  HugePageBuffer(HugePageBuffer&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr, o.size_ = 0; }
  HugePageBuffer& operator=(HugePageBuffer&&) = delete;
  HugePageBuffer(const HugePageBuffer&) = delete;
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // Read-only from now on: written once at load, a stray write then faults instead of changing
  // weights.
  void seal() const;

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// True when `w` can be repacked (Q4_0, a 2-D matrix with a multiple of 8 rows).
bool can_repack_rows8(const Tensor& w);
// The repacked bytes of w (same size as w's data), row groups spread over the pool.
HugePageBuffer repack_rows8(const Tensor& w, ThreadPool& pool);
// Row r of a rows8 tensor back in the file's layout (n / 32 blocks).
void rows8_row(const Tensor& w, int64_t r, BlockQ4_0* out);

// True when w is worth copying into huge pages: its bytes are present, not re-laid already, and
// transparent huge pages are not off on this machine (without them the copy would gain nothing).
bool wants_huge_page_copy(const Tensor& w);
// The matrices' bytes copied, each at a 64-byte aligned offset, into one buffer (rows spread over
// the pool); offsets[i] is where ws[i] begins. copied(i), when given, runs as soon as ws[i] is
// copied: releasing its source pages there keeps the peak resident memory at one copy plus one
// matrix, not two copies.
HugePageBuffer copy_to_huge_pages(const std::vector<const Tensor*>& ws, std::vector<size_t>& offsets,
                                  ThreadPool& pool, const std::function<void(size_t)>& copied = {});

}  // namespace citadel
