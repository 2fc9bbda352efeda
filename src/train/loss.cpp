#include "train/loss.h"

#include <algorithm>
#include <cmath>
#include <mutex>

namespace citadel {

LossSums loss_rows(float* logits, int64_t m, int64_t vocab, const int32_t* targets, int top_k, const int32_t* top_ids,
                   const float* top_probs, const LossWeights& w, float grad_scale, ThreadPool& pool) {
  LossSums total;
  std::mutex mu;
  pool.parallel_for(m, [&](int64_t r0, int64_t r1) {
    LossSums part;
    for (int64_t r = r0; r < r1; ++r) {
      float* z = logits + r * vocab;
      const int64_t best = std::max_element(z, z + vocab) - z;
      const float max = z[best];
      double sum = 0;
      for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(z[i] - max));
      const double log_sum = std::log(sum) + max;
      auto log_q = [&](int64_t i) { return static_cast<double>(z[i]) - log_sum; };
      const int32_t target = targets[r];
      part.ce -= log_q(target);
      part.correct += best == target;
      ++part.rows;
      const int32_t* ids = top_k > 0 ? top_ids + r * top_k : nullptr;
      const float* p = top_k > 0 ? top_probs + r * top_k : nullptr;
      bool teacher = false;
      for (int i = 0; i < top_k; ++i) teacher |= p[i] > 0;
      if (teacher) {
        for (int i = 0; i < top_k; ++i)
          if (p[i] > 0) part.kl += p[i] * (std::log(static_cast<double>(p[i])) - log_q(ids[i]));
        part.agree += best == ids[0];
        ++part.teacher_rows;
      }
      if (grad_scale == 0) continue;
      const float a = grad_scale * (w.ce + (teacher ? w.kl : 0.0f));
      for (int64_t i = 0; i < vocab; ++i) z[i] = a * static_cast<float>(std::exp(static_cast<double>(z[i]) - log_sum));
      z[target] -= grad_scale * w.ce;
      if (teacher)
        for (int i = 0; i < top_k; ++i) z[ids[i]] -= grad_scale * w.kl * p[i];
    }
    std::lock_guard<std::mutex> lock(mu);
    total += part;
  }, 4);
  return total;
}

}  // namespace citadel
