#include "core/kernels/softmax.h"

#include <cmath>

namespace citadel::kernels {

float softmax_block(const KernelSet& set, float* x, int64_t n, float scale, float* max, float* sum) {
  // Scale and max in 8 independent lanes, written so the compiler makes them maxps (std::fmax
  // is a call per value: it made attention's softmax 1.3-1.8x slower than before the fix).
  float lanes[8];
  for (float& l : lanes) l = -INFINITY;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) {
      const float v = x[i + k] *= scale;
      lanes[k] = v > lanes[k] ? v : lanes[k];
    }
  float m = *max;
  for (; i < n; ++i) {
    const float v = x[i] *= scale;
    m = v > m ? v : m;
  }
  for (float l : lanes) m = l > m ? l : m;
  // exp(-inf) = 0 on the first block. NaN scores never become the max (v > m is false), so they
  // give exp(NaN) = NaN weights, carried on; a block of NaNs leaves m at -inf.
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
