#include "train/frozen_linear.h"

#include <algorithm>

#include "core/fp16.h"
#include "core/gemm_f32.h"
#include "core/matmul.h"
#include "core/quant.h"
#include "core/quant_blocks.h"

namespace citadel {

FrozenLinear::Copy& FrozenLinear::copy_of(const Tensor& w, ThreadPool& pool) {
  auto it = copies_.find(w.data);
  if (it != copies_.end()) return *it->second;
  auto c = std::make_unique<Copy>();
  const int64_t rows = w.rows(), cols = w.cols();
  TensorType type = TensorType::Q8_0;
  if (w.type == TensorType::F16 || w.type == TensorType::BF16) type = w.type;
  else if (rows % 32 != 0) type = TensorType::F32;  // no whole Q8_0 blocks along a column
  if (type == TensorType::F32) {
    c->dense.resize(static_cast<size_t>(rows * cols));
    pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) get_row(w, r, c->dense.data() + r * cols);
    }, 16);
  } else {
    c->wt.name = w.name + ".T";
    c->wt.type = type;
    c->wt.ne[0] = rows;
    c->wt.ne[1] = cols;
    const size_t rb = row_bytes(type, rows);
    c->bytes.resize(rb * static_cast<size_t>(cols));
    // 32 rows of W at a time: their values make one Q8_0 block (or 32 halves) of every row of W^T.
    pool.parallel_for((rows + 31) / 32, [&](int64_t b0, int64_t b1) {
      std::vector<float> chunk(static_cast<size_t>(32 * cols)), col(32);
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t r0 = b * 32, nr = std::min<int64_t>(32, rows - r0);
        for (int64_t r = 0; r < nr; ++r) get_row(w, r0 + r, chunk.data() + r * cols);
        for (int64_t j = 0; j < cols; ++j) {
          uint8_t* dst = c->bytes.data() + j * rb;
          for (int64_t r = 0; r < nr; ++r) col[r] = chunk[r * cols + j];
          if (type == TensorType::Q8_0) {
            quantize_row(type, col.data(), dst + b * sizeof(BlockQ8_0), 32);
          } else {
            auto* h = reinterpret_cast<uint16_t*>(dst) + r0;
            for (int64_t r = 0; r < nr; ++r) h[r] = type == TensorType::F16 ? fp32_to_fp16(col[r]) : fp32_to_bf16(col[r]);
          }
        }
      }
    });
    c->wt.data = c->bytes.data();
  }
  return *copies_.emplace(w.data, std::move(c)).first->second;
}

void FrozenLinear::backward(const Tensor& w, const float* dy, int64_t n, float* dx, ThreadPool& pool) {
  const int64_t in = w.cols(), out = w.rows();
  if (w.type == TensorType::F32 && !w.rows8) {
    gemm_ab_acc(dy, w.f32(), dx, n, in, out, pool);
    return;
  }
  Copy& c = copy_of(w, pool);
  if (!c.dense.empty()) {
    gemm_ab_acc(dy, c.dense.data(), dx, n, in, out, pool);
    return;
  }
  tmp_.resize(static_cast<size_t>(n * in));
  matmul(c.wt, dy, n, tmp_.data(), pool);
  for (int64_t i = 0; i < n * in; ++i) dx[i] += tmp_[i];
}

size_t FrozenLinear::bytes() const {
  size_t b = 0;
  for (const auto& [k, c] : copies_) b += c->bytes.size() + c->dense.size() * sizeof(float);
  return b;
}

}  // namespace citadel
