// Causal self-attention of a batch's queries over the paged KV cache, flash-attention style:
// the queries of up to 8 consecutive tokens of one sequence and the heads that share a KV head go
// over the KV blocks together, so each block's K and V rows are read once for all of them, and
// only one block of scores (KvCache::kBlockSize per query) exists at a time. The softmax is
// online: per query a running max (from -inf), a running sum of exponentials and an unnormalised
// output, both rescaled by exp(old max - new max) when a block raises the max, divided at the end.
// A long prompt (2k-4k positions) thus costs no more memory than a short one.
#pragma once
#include <cstdint>

#include "core/thread_pool.h"
#include "model/batch.h"
#include "model/kv_cache.h"

namespace citadel {

struct AttentionShape {
  int64_t n_head, n_head_kv, head_dim;  // n_head a multiple of n_head_kv (grouped-query)
};

// For each token t of the batch and head h: out[t][h] = sum over positions p <= pos(t) of its
// sequence of softmax_p(scale * q[t][h] . K[p]) V[p], K/V of layer il, KV head h / (n_head /
// n_head_kv). q and out: batch.size() rows of n_head * head_dim floats. The batch's own K/V must
// already be stored. Kernel: kernels::active().attend_block, once per KV block and job.
void attention(const AttentionShape& shape, const Batch& batch, const float* q, const KvCache& kv, int64_t il,
               float scale, float* out, ThreadPool& pool);

}  // namespace citadel
