#include "core/kernels/softmax.h"

#include <cmath>

namespace citadel::kernels {

void softmax(const KernelSet& set, float* x, int64_t n, float scale) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) max = std::fmax(max, x[i] *= scale);
  // The largest score contributes exp(0) = 1 and none more than 1: sum is in [1, n], never 0 or inf.
  const float sum = set.exp_sum(x, n, max);
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace citadel::kernels
