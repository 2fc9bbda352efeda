#include "core/matmul.h"

#include <stdexcept>
#include <vector>

#include "core/quant.h"

namespace citadel {

void matmul(const Tensor& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  const int64_t k = w.cols(), m = w.rows();
  const size_t row_size = w.row_size();
  const auto* base = static_cast<const uint8_t*>(w.data);
  pool.parallel_for(m, [&](int64_t r0, int64_t r1) {
    if (n_tokens == 1) {
      for (int64_t r = r0; r < r1; ++r) y[r] = dot_row(w.type, base + r * row_size, x, k);
      return;
    }
    // Several tokens: widen each weight row once, then reuse it for every token.
    std::vector<float> row(k);
    for (int64_t r = r0; r < r1; ++r) {
      dequantize_row(w.type, base + r * row_size, row.data(), k);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const float* xt = x + t * k;
        float sum = 0;
        for (int64_t i = 0; i < k; ++i) sum += row[i] * xt[i];
        y[t * m + r] = sum;
      }
    }
  }, 4);
}

void get_row(const Tensor& w, int64_t r, float* out) {
  if (r < 0 || r >= w.rows()) throw std::out_of_range("row " + std::to_string(r) + " outside tensor " + w.name);
  dequantize_row(w.type, w.row(r), out, w.cols());
}

}  // namespace citadel
