// AdamW (decoupled weight decay) with global gradient-norm clipping, and the learning-rate
// schedule: linear warm-up, then cosine decay to a floor.
#pragma once
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "train/trainable_model.h"

namespace citadel {

struct AdamWConfig {
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0.0f;  // applied to Param::decay parameters only
  float clip_norm = 1.0f;     // global gradient L2 norm above which gradients are scaled down (0: off)
};

class AdamW {
 public:
  AdamW(std::vector<Param>& params, const AdamWConfig& config);
  // One update at learning rate `lr` from the current gradients; returns their global norm
  // before clipping (not finite: the step is skipped, parameters unchanged).
  double step(float lr, ThreadPool& pool);
  int64_t steps() const { return t_; }

  // State for checkpoints: per parameter, its first and second moments.
  std::vector<std::vector<float>>& first_moments() { return m_; }
  std::vector<std::vector<float>>& second_moments() { return v_; }
  void set_steps(int64_t t) { t_ = t; }

 private:
  std::vector<Param>& params_;
  AdamWConfig c_;
  std::vector<std::vector<float>> m_, v_;
  int64_t t_ = 0;
};

// Learning rate of step `step` (0-based) of `total`: peak * (step + 1) / warmup while warming up, then a
// cosine from peak down to peak * min_ratio at the last step.
float cosine_lr(int64_t step, int64_t total, int64_t warmup, float peak, float min_ratio);

}  // namespace citadel
