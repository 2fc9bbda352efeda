// Causal grouped-query self-attention over packed sequences, forward and backward, for training.
// Rows are tokens of several sequences one after another (sequence s owns rows starts[s] ..
// starts[s+1]-1, positions 0, 1, ... from its start); each token attends to its own sequence's
// tokens up to itself. Q is rows x n_head*hd, K and V rows x n_head_kv*hd (Q/K already roped).
// The backward recomputes the probabilities from Q, K and the saved log-sum-exp, so no
// rows x rows matrix is kept between the passes.
#pragma once
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"

namespace citadel {

struct AttentionShape {
  int64_t n_head, n_head_kv, head_dim;
  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }
};

// out: rows x q_dim; lse: rows x n_head (log-sum-exp of each softmax, scaled scores).
void attention_forward(const AttentionShape& s, const std::vector<int64_t>& starts, int64_t rows, const float* q,
                       const float* k, const float* v, float* out, float* lse, ThreadPool& pool);
// Gradients of the inputs from dout (rows x q_dim): dq (rows x q_dim), dk, dv (rows x kv_dim),
// overwritten.
void attention_backward(const AttentionShape& s, const std::vector<int64_t>& starts, int64_t rows, const float* q,
                        const float* k, const float* v, const float* out, const float* lse, const float* dout,
                        float* dq, float* dk, float* dv, ThreadPool& pool);

}  // namespace citadel
