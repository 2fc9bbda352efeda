#include "train/attention.h"

#include <algorithm>
#include <cmath>

#include "core/kernels/kernels.h"
#include "core/kernels/softmax.h"

namespace citadel {
namespace {

// The sequence of each row and its first row.
std::vector<int64_t> row_starts(const std::vector<int64_t>& starts, int64_t rows) {
  std::vector<int64_t> first(static_cast<size_t>(rows));
  for (size_t s = 0; s < starts.size(); ++s) {
    const int64_t end = s + 1 < starts.size() ? starts[s + 1] : rows;
    for (int64_t t = starts[s]; t < end; ++t) first[t] = starts[s];
  }
  return first;
}

}  // namespace

void attention_forward(const AttentionShape& s, const std::vector<int64_t>& starts, int64_t rows, const float* q,
                       const float* k, const float* v, float* out, float* lse, ThreadPool& pool) {
  const kernels::KernelSet& ks = kernels::active();
  const int64_t hd = s.head_dim, qd = s.q_dim(), kvd = s.kv_dim(), group = s.n_head / s.n_head_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const std::vector<int64_t> first = row_starts(starts, rows);
  pool.parallel_for(rows * s.n_head, [&](int64_t j0, int64_t j1) {
    std::vector<float> p;
    for (int64_t job = j0; job < j1; ++job) {
      const int64_t t = job / s.n_head, h = job % s.n_head, kvh = h / group, t0 = first[t], n = t - t0 + 1;
      p.resize(static_cast<size_t>(n));
      ks.dot_rows(k + t0 * kvd + kvh * hd, kvd, static_cast<int>(n), q + t * qd + h * hd, hd, p.data());
      float max = -INFINITY, sum = 0.0f;
      kernels::softmax_block(ks, p.data(), n, scale, &max, &sum);
      lse[t * s.n_head + h] = max + std::log(sum);
      for (float& x : p) x /= sum;
      float* o = out + t * qd + h * hd;
      std::fill(o, o + hd, 0.0f);
      ks.axpy_rows(v + t0 * kvd + kvh * hd, kvd, static_cast<int>(n), p.data(), hd, o);
    }
  });
}

void attention_backward(const AttentionShape& s, const std::vector<int64_t>& starts, int64_t rows, const float* q,
                        const float* k, const float* v, const float* out, const float* lse, const float* dout,
                        float* dq, float* dk, float* dv, ThreadPool& pool) {
  const kernels::KernelSet& ks = kernels::active();
  const int64_t hd = s.head_dim, qd = s.q_dim(), kvd = s.kv_dim(), group = s.n_head / s.n_head_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t n_seq = static_cast<int64_t>(starts.size());
  // Per query head, its own dK / dV rows (summed over the group afterwards), so jobs of
  // (head, sequence) never write the same memory.
  std::vector<float> dk_h(static_cast<size_t>(rows * qd), 0.0f), dv_h(static_cast<size_t>(rows * qd), 0.0f);
  pool.parallel_for(s.n_head * n_seq, [&](int64_t j0, int64_t j1) {
    std::vector<float> p, dp;
    for (int64_t job = j0; job < j1; ++job) {
      const int64_t h = job / n_seq, seq = job % n_seq, kvh = h / group;
      const int64_t t0 = starts[seq], t_end = seq + 1 < n_seq ? starts[seq + 1] : rows;
      const float* kh = k + t0 * kvd + kvh * hd;
      const float* vh = v + t0 * kvd + kvh * hd;
      float* dkh = dk_h.data() + t0 * qd + h * hd;
      float* dvh = dv_h.data() + t0 * qd + h * hd;
      for (int64_t t = t0; t < t_end; ++t) {
        const int64_t n = t - t0 + 1;
        const float* qt = q + t * qd + h * hd;
        const float* dot = dout + t * qd + h * hd;
        p.resize(static_cast<size_t>(n));
        dp.resize(static_cast<size_t>(n));
        ks.dot_rows(kh, kvd, static_cast<int>(n), qt, hd, p.data());
        const float l = lse[t * s.n_head + h];
        for (float& x : p) x = std::exp(x * scale - l);
        ks.dot_rows(vh, kvd, static_cast<int>(n), dot, hd, dp.data());  // dP_j = dO . v_j
        double d = 0;  // sum_j p_j dP_j = dO . O
        const float* ot = out + t * qd + h * hd;
        for (int64_t i = 0; i < hd; ++i) d += static_cast<double>(dot[i]) * ot[i];
        for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - static_cast<float>(d)) * scale;  // dS_j, scaled
        float* dqt = dq + t * qd + h * hd;
        std::fill(dqt, dqt + hd, 0.0f);
        ks.axpy_rows(kh, kvd, static_cast<int>(n), dp.data(), hd, dqt);
        for (int64_t j = 0; j < n; ++j) {
          float* dkj = dkh + j * qd;
          float* dvj = dvh + j * qd;
          const float a = dp[j], b = p[j];
          for (int64_t i = 0; i < hd; ++i) {
            dkj[i] += a * qt[i];
            dvj[i] += b * dot[i];
          }
        }
      }
    }
  });
  pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t t = r0; t < r1; ++t)
      for (int64_t kvh = 0; kvh < s.n_head_kv; ++kvh) {
        float* dkt = dk + t * kvd + kvh * hd;
        float* dvt = dv + t * kvd + kvh * hd;
        std::fill(dkt, dkt + hd, 0.0f);
        std::fill(dvt, dvt + hd, 0.0f);
        for (int64_t g = 0; g < group; ++g) {
          const int64_t h = kvh * group + g;
          const float* a = dk_h.data() + t * qd + h * hd;
          const float* b = dv_h.data() + t * qd + h * hd;
          for (int64_t i = 0; i < hd; ++i) {
            dkt[i] += a[i];
            dvt[i] += b[i];
          }
        }
      }
  });
}

}  // namespace citadel
