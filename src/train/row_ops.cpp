#include "train/row_ops.h"

#include "core/kernels/kernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace citadel {

void rms_norm_forward(const float* x, const float* w, float* out, float* rstd, int64_t n, int64_t dim, float eps,
                      ThreadPool& pool) {
  pool.parallel_for(n, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* xt = x + t * dim;
      double ss = 0;
      for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xt[i]) * xt[i];
      rstd[t] = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(dim) + eps));
      rms_norm(xt, w, out + t * dim, dim, eps);
    }
  }, 8);
}

void rms_norm_backward(const float* x, const float* w, const float* rstd, const float* dy, float* dx, float* dw,
                       int64_t n, int64_t dim, bool accumulate, ThreadPool& pool) {
  // y_i = x_i r w_i, r = (mean(x^2) + eps)^-1/2: dx_i = r w_i dy_i - x_i r^3 / dim * sum_j w_j dy_j x_j.
  pool.parallel_for(n, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* xt = x + t * dim;
      const float* dyt = dy + t * dim;
      float* dxt = dx + t * dim;
      const double r = rstd[t];
      double dot = 0;
      for (int64_t i = 0; i < dim; ++i) dot += static_cast<double>(w ? w[i] : 1.0f) * dyt[i] * xt[i];
      const double c = dot * r * r * r / static_cast<double>(dim);
      for (int64_t i = 0; i < dim; ++i) {
        const float g = static_cast<float>(r * (w ? w[i] : 1.0f) * dyt[i] - c * xt[i]);
        dxt[i] = accumulate ? dxt[i] + g : g;
      }
    }
  }, 8);
  if (!dw) return;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < dim; ++i) dw[i] += dy[t * dim + i] * x[t * dim + i] * rstd[t];
}

void rope_rows(const RopeParams& p, const int32_t* positions, float* x, int64_t n, int64_t n_heads, bool inverse,
               ThreadPool& pool) {
  pool.parallel_for(n, [&](int64_t t0, int64_t t1) {
    std::vector<float> cs(static_cast<size_t>(p.n_rot));
    for (int64_t t = t0; t < t1; ++t) {
      rope_angles(p.n_rot, positions[t], p.theta, p.freq_scale, p.freq_factors, cs.data());
      if (inverse)
        for (int64_t i = 1; i < p.n_rot; i += 2) cs[i] = -cs[i];
      for (int64_t h = 0; h < n_heads; ++h) rope_rotate(x + (t * n_heads + h) * p.head_dim, p.n_rot, cs.data(), p.style);
    }
  }, 8);
}

void silu_mul_forward(const float* gate, const float* up, float* act, int64_t n) {
  std::copy(gate, gate + n, act);
  kernels::active().silu_mul(act, up, n);  // as inference computes it
}

void silu_mul_backward(const float* gate, const float* up, const float* dact, float* dgate, float* dup, int64_t n) {
  // silu(g) = g s(g), silu'(g) = s(g) (1 + g (1 - s(g))).
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i], sg = 1.0f / (1.0f + std::exp(-g));
    dup[i] = dact[i] * g * sg;
    dgate[i] = dact[i] * up[i] * sg * (1.0f + g * (1.0f - sg));
  }
}

void add_column_sums(const float* dy, int64_t n, int64_t dim, float* db) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < dim; ++i) db[i] += dy[t * dim + i];
}

}  // namespace citadel
