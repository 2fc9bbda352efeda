#include "model/transformer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/matmul.h"
#include "core/ops.h"
#include "model/attention.h"
#include "model/lora_apply.h"
#include "model/scratch.h"

namespace citadel {

void embed_tokens(const Tensor& tok_embd, const Batch& batch, float* x) {
  const int64_t d = tok_embd.cols();
  for (int64_t t = 0; t < batch.size(); ++t) {
    if (t < static_cast<int64_t>(batch.embd.size()) && batch.embd[t]) std::copy_n(batch.embd[t], d, x + t * d);
    else get_row(tok_embd, batch.tokens[t], x + t * d);
  }
}

// y (n rows of b's width) += the bias b, if the model has one.
static void add_bias(const Tensor& b, float* y, int64_t n) {
  if (!b.present()) return;
  const int64_t width = b.ne[0];
  for (int64_t t = 0; t < n; ++t) add(y + t * width, b.f32(), width);
}

void linear(const Tensor& w, const Tensor& b, const float* x, int64_t n, float* y, ThreadPool& pool) {
  matmul(w, x, n, y, pool);
  add_bias(b, y, n);
}

void rms_norm_rows(const float* x, const Tensor& weight, float* out, int64_t n, int64_t dim, float eps) {
  for (int64_t t = 0; t < n; ++t) rms_norm(x + t * dim, weight.f32(), out + t * dim, dim, eps);
}

void layer_norm_rows(const float* x, const Tensor& weight, const Tensor& bias, float* out, int64_t n, int64_t dim,
                     float eps) {
  for (int64_t t = 0; t < n; ++t)
    layer_norm(x + t * dim, weight.f32(), bias.present() ? bias.f32() : nullptr, out + t * dim, dim, eps);
}

void add_rows(float* x, const float* y, int64_t n, int64_t dim) { add(x, y, n * dim); }

void self_attention(const HParams& hp, const Weights& weights, int il, const Batch& batch, const float* xn, float* out,
                    KvCache& kv, ThreadPool& pool) {
  const LayerWeights& w = weights.layers[il];
  const int64_t n = batch.size(), hd = hp.head_dim, q_dim = hp.q_dim(), kv_dim = hp.kv_dim();
  float* q = scratch(Scratch::Q, n * q_dim);
  float* k = scratch(Scratch::K, n * kv_dim);
  float* v = scratch(Scratch::V, n * kv_dim);
  if (w.wqkv.present()) {
    float* qkv = scratch(Scratch::QKV, n * (q_dim + 2 * kv_dim));
    linear(w.wqkv, w.bqkv, xn, n, qkv, pool);
    for (int64_t t = 0; t < n; ++t) {
      const float* row = qkv + t * (q_dim + 2 * kv_dim);
      std::copy(row, row + q_dim, q + t * q_dim);
      std::copy(row + q_dim, row + q_dim + kv_dim, k + t * kv_dim);
      std::copy(row + q_dim + kv_dim, row + q_dim + 2 * kv_dim, v + t * kv_dim);
    }
  } else {
    const MatmulOut outs[] = {{&w.wq, q}, {&w.wk, k}, {&w.wv, v}};
    matmul(outs, 3, xn, n, pool);
    add_bias(w.bq, q, n);
    add_bias(w.bk, k, n);
    add_bias(w.bv, v, n);
    apply_lora(batch, il, LoraTarget::Q, xn, hp.n_embd, q, q_dim, pool);
    apply_lora(batch, il, LoraTarget::K, xn, hp.n_embd, k, kv_dim, pool);
    apply_lora(batch, il, LoraTarget::V, xn, hp.n_embd, v, kv_dim, pool);
  }

  const float* freq_factors = weights.rope_freqs.present() ? weights.rope_freqs.f32() : nullptr;
  std::vector<float> cos_sin(hp.n_rot);
  for (int64_t t = 0; t < n; ++t) {
    const int64_t pos = batch.positions[t];
    rope_angles(hp.n_rot, pos, hp.rope_theta, hp.rope_freq_scale, freq_factors, cos_sin.data());
    for (int64_t h = 0; h < hp.n_head; ++h) {
      float* qh = q + t * q_dim + h * hd;
      if (w.q_norm.present()) rms_norm(qh, w.q_norm.f32(), qh, hd, hp.norm_eps);
      rope_rotate(qh, hp.n_rot, cos_sin.data(), hp.rope_style);
    }
    for (int64_t h = 0; h < hp.n_head_kv; ++h) {
      float* kh = k + t * kv_dim + h * hd;
      if (w.k_norm.present()) rms_norm(kh, w.k_norm.f32(), kh, hd, hp.norm_eps);
      rope_rotate(kh, hp.n_rot, cos_sin.data(), hp.rope_style);
    }
    kv.store(il, batch.seq_ids[t], pos, k + t * kv_dim, v + t * kv_dim);
  }

  float* attn = scratch(Scratch::Attn, n * q_dim);
  attention({hp.n_head, hp.n_head_kv, hd}, batch, q, kv, il, 1.0f / std::sqrt(static_cast<float>(hd)), attn, pool);
  linear(w.wo, w.bo, attn, n, out, pool);
  apply_lora(batch, il, LoraTarget::O, attn, q_dim, out, hp.n_embd, pool);
}

void ffn_swiglu(const LayerWeights& w, const Batch& batch, int il, const float* xn, float* out, ThreadPool& pool) {
  const int64_t n = batch.size(), ff = w.ffn_up.rows(), d = w.ffn_up.cols();
  float* gate = scratch(Scratch::Gate, n * ff);
  float* up = scratch(Scratch::Up, n * ff);
  const MatmulOut outs[] = {{&w.ffn_gate, gate}, {&w.ffn_up, up}};
  matmul(outs, 2, xn, n, pool);
  add_bias(w.ffn_up_b, up, n);
  apply_lora(batch, il, LoraTarget::Gate, xn, d, gate, ff, pool);
  apply_lora(batch, il, LoraTarget::Up, xn, d, up, ff, pool);
  kernels::active().silu_mul(gate, up, n * ff);
  linear(w.ffn_down, w.ffn_down_b, gate, n, out, pool);
  apply_lora(batch, il, LoraTarget::Down, gate, ff, out, d, pool);
}

void ffn_gelu(const LayerWeights& w, const float* xn, int64_t n, float* out, ThreadPool& pool) {
  const int64_t ff = w.ffn_up.rows();
  float* up = scratch(Scratch::Up, n * ff);
  linear(w.ffn_up, w.ffn_up_b, xn, n, up, pool);
  for (int64_t i = 0; i < n * ff; ++i) up[i] = gelu(up[i]);
  linear(w.ffn_down, w.ffn_down_b, up, n, out, pool);
}

void output_logits(const HParams& hp, const Weights& w, NormKind norm, const Batch& batch, const float* x,
                   float* logits, float* hidden, ThreadPool& pool) {
  const int64_t d = hp.n_embd;
  auto final_norm = [&](int64_t t, float* out) {
    if (norm == NormKind::Rms) rms_norm(x + t * d, w.output_norm.f32(), out, d, hp.norm_eps);
    else layer_norm(x + t * d, w.output_norm.f32(), w.output_norm_b.present() ? w.output_norm_b.f32() : nullptr, out, d,
                    hp.norm_eps);
  };
  if (hidden)
    for (int64_t t = 0; t < batch.size(); ++t) final_norm(t, hidden + t * d);
  std::vector<float> rows;
  for (int64_t t = 0; t < batch.size(); ++t) {
    if (!batch.want_logits[t]) continue;
    rows.resize(rows.size() + d);
    final_norm(t, rows.data() + rows.size() - d);
  }
  if (!rows.empty()) matmul(w.output, rows.data(), static_cast<int64_t>(rows.size() / d), logits, pool);
}

}  // namespace citadel
