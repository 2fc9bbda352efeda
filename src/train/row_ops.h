// The per-row operations of the llama family, forward (keeping what the backward needs) and
// backward, on rows of floats. Forward values match core/ops.h (the inference pass).
#pragma once
#include <cstdint>

#include "core/ops.h"
#include "core/thread_pool.h"

namespace citadel {

// out = rms_norm(x) * w for n rows of dim values; rstd[t] = 1 / sqrt(mean(x_t^2) + eps).
void rms_norm_forward(const float* x, const float* w, float* out, float* rstd, int64_t n, int64_t dim, float eps,
                      ThreadPool& pool);
// dx (+)= d/dx of the norm given dy; dw += d/dw (when not null). `accumulate`: dx += instead of =.
void rms_norm_backward(const float* x, const float* w, const float* rstd, const float* dy, float* dx, float* dw,
                       int64_t n, int64_t dim, bool accumulate, ThreadPool& pool);

// RoPE of the heads of n rows at `positions` (head_dim values per head, first n_rot rotated);
// `inverse` rotates back (the backward of a rotation is its inverse).
struct RopeParams {
  int64_t n_rot, head_dim;
  float theta, freq_scale;
  const float* freq_factors;  // may be null
  RopeStyle style;
};
void rope_rows(const RopeParams& p, const int32_t* positions, float* x, int64_t n, int64_t n_heads, bool inverse,
               ThreadPool& pool);

// SwiGLU middle: act = silu(gate) * up. Backward: dgate, dup from dact.
void silu_mul_forward(const float* gate, const float* up, float* act, int64_t n);
void silu_mul_backward(const float* gate, const float* up, const float* dact, float* dgate, float* dup, int64_t n);

// db += the column sums of dy (n rows of dim values): a bias's gradient.
void add_column_sums(const float* dy, int64_t n, int64_t dim, float* db);

}  // namespace citadel
