// The training loss over rows of logits: cross-entropy to the next token, plus for distillation
// the KL divergence from a teacher's top-k distribution (its k most likely ids with their
// probabilities renormalised to sum to 1) to the student's full softmax:
//   loss = ce_weight * -log q(target) + kl_weight * sum_i p_i (log p_i - log q_i).
// Its gradient in the logits is ce_weight (q - onehot) + kl_weight (q - p). A row whose teacher
// probabilities are all zero has no teacher: only its cross-entropy counts.
#pragma once
#include <cstdint>

#include "core/thread_pool.h"

namespace citadel {

struct LossWeights {
  float ce = 1.0f;
  float kl = 0.0f;
};

struct LossSums {
  double ce = 0, kl = 0;  // summed over scored rows
  int64_t rows = 0;       // scored rows
  int64_t teacher_rows = 0;  // scored rows with a teacher distribution
  int64_t agree = 0;      // of those, rows whose argmax is the teacher's top id
  int64_t correct = 0;    // rows whose argmax is the target
  double total(const LossWeights& w) const { return w.ce * ce + w.kl * kl; }
  LossSums& operator+=(const LossSums& o) {
    ce += o.ce, kl += o.kl, rows += o.rows, teacher_rows += o.teacher_rows, agree += o.agree, correct += o.correct;
    return *this;
  }
};

// m rows of `vocab` logits with their targets (every row scored) and, when top_k > 0, the teacher's
// ids and probabilities (m x top_k). With `grad_scale` != 0 the logits are overwritten by
// grad_scale * d(loss)/d(logits).
LossSums loss_rows(float* logits, int64_t m, int64_t vocab, const int32_t* targets, int top_k, const int32_t* top_ids,
                   const float* top_probs, const LossWeights& w, float grad_scale, ThreadPool& pool);

}  // namespace citadel
