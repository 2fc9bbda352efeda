// Building blocks shared by the architectures. Each works on all n tokens of a batch at once,
// activations stored row by row (n x dim, contiguous), so every weight matrix is read once per batch.
#pragma once
#include <cstdint>

#include "core/thread_pool.h"
#include "model/batch.h"
#include "model/hparams.h"
#include "model/kv_cache.h"
#include "model/weights.h"

namespace citadel {

// x[t] = embedding row of batch.tokens[t], or the batch's own embedding row where it has one.
void embed_tokens(const Tensor& tok_embd, const Batch& batch, float* x);
// y = x W^T (+ b): n rows of w.cols() floats in, n rows of w.rows() floats out.
void linear(const Tensor& w, const Tensor& b, const float* x, int64_t n, float* y, ThreadPool& pool);
void rms_norm_rows(const float* x, const Tensor& weight, float* out, int64_t n, int64_t dim, float eps);
void layer_norm_rows(const float* x, const Tensor& weight, const Tensor& bias, float* out, int64_t n, int64_t dim,
                     float eps);
void add_rows(float* x, const float* y, int64_t n, int64_t dim);  // x += y

// Causal self-attention of layer il: Q/K/V projections (fused or not, with biases and per-head
// QK norms where the weights have them), RoPE, K/V written to the cache at each token's position,
// attention over each token's own sequence (grouped-query), output projection. xn: n x n_embd.
// Each row's LoRA adapters (batch.lora) add to its Q/K/V and output projections.
void self_attention(const HParams& hp, const Weights& weights, int il, const Batch& batch, const float* xn, float* out,
                    KvCache& kv, ThreadPool& pool);
// SwiGLU MLP: down(silu(gate x) * up x), over the batch's rows (xn: batch.size() x n_embd), with
// their LoRA adapters (layer il).
void ffn_swiglu(const LayerWeights& w, const Batch& batch, int il, const float* xn, float* out, ThreadPool& pool);
// GELU MLP: down(gelu(up x + b_up)) + b_down.
void ffn_gelu(const LayerWeights& w, const float* xn, int64_t n, float* out, ThreadPool& pool);

enum class NormKind { Rms, Layer };
// Final norm and LM head for the batch rows that want logits. When `hidden` is not null it gets
// the final-normed hidden state of every batch row (n x n_embd), for embeddings.
void output_logits(const HParams& hp, const Weights& w, NormKind norm, const Batch& batch, const float* x,
                   float* logits, float* hidden, ThreadPool& pool);

}  // namespace citadel
