#include "train/optimizer.h"

#include <cmath>

namespace citadel {

AdamW::AdamW(std::vector<Param>& params, const AdamWConfig& config) : params_(params), c_(config) {
  for (const Param& p : params_) {
    m_.emplace_back(static_cast<size_t>(p.size), 0.0f);
    v_.emplace_back(static_cast<size_t>(p.size), 0.0f);
  }
}

double AdamW::step(float lr, ThreadPool& pool) {
  double sq = 0;
  for (const Param& p : params_)
    for (int64_t i = 0; i < p.size; ++i) sq += static_cast<double>(p.grad[i]) * p.grad[i];
  const double norm = std::sqrt(sq);
  if (!std::isfinite(norm)) return norm;
  const float clip = c_.clip_norm > 0 && norm > c_.clip_norm ? static_cast<float>(c_.clip_norm / norm) : 1.0f;
  ++t_;
  const float bc1 = 1.0f - std::pow(c_.beta1, static_cast<float>(t_));
  const float bc2 = 1.0f - std::pow(c_.beta2, static_cast<float>(t_));
  for (size_t k = 0; k < params_.size(); ++k) {
    const Param& p = params_[k];
    float* m = m_[k].data();
    float* v = v_[k].data();
    const float decay = p.decay ? lr * c_.weight_decay : 0.0f;
    pool.parallel_for(p.size, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const float g = p.grad[i] * clip;
        m[i] = c_.beta1 * m[i] + (1 - c_.beta1) * g;
        v[i] = c_.beta2 * v[i] + (1 - c_.beta2) * g * g;
        p.value[i] -= lr * (m[i] / bc1) / (std::sqrt(v[i] / bc2) + c_.eps) + decay * p.value[i];
      }
    }, 4096);
  }
  return norm;
}

float cosine_lr(int64_t step, int64_t total, int64_t warmup, float peak, float min_ratio) {
  if (warmup > 0 && step < warmup) return peak * static_cast<float>(step + 1) / static_cast<float>(warmup);
  const int64_t span = std::max<int64_t>(1, total - warmup - 1);
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / static_cast<double>(span));
  const double cosine = 0.5 * (1 + std::cos(M_PI * progress));
  return static_cast<float>(peak * (min_ratio + (1 - min_ratio) * cosine));
}

}  // namespace citadel
