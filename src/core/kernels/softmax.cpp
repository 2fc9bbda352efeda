#include "core/kernels/softmax.h"

#include <cmath>

namespace citadel::kernels {

float softmax_block(const KernelSet& set, float* x, int64_t n, float scale, float* max, float* sum) {
  float m = *max;
  for (int64_t i = 0; i < n; ++i) m = std::fmax(m, x[i] *= scale);
  // exp(-inf) = 0 on the first block. A block of NaNs leaves m at -inf: exp(NaN) = NaN, carried on.
  const float rescale = std::exp(*max - m);
  // The largest score so far contributes exp(0) = 1 and none more than 1: the sum stays in
  // [1, positions so far], never 0 or inf.
  *sum = *sum * rescale + set.exp_sum(x, n, m);
  *max = m;
  return rescale;
}

void softmax(const KernelSet& set, float* x, int64_t n, float scale) {
  float max = -INFINITY, sum = 0.0f;
  softmax_block(set, x, n, scale, &max, &sum);
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace citadel::kernels
