#include "model/transformer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/matmul.h"
#include "core/ops.h"
#include "model/attention.h"
#include "model/lora_apply.h"

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
  std::vector<float> q(n * q_dim), k(n * kv_dim), v(n * kv_dim);
  if (w.wqkv.present()) {
    std::vector<float> qkv(n * (q_dim + 2 * kv_dim));
    linear(w.wqkv, w.bqkv, xn, n, qkv.data(), pool);
    for (int64_t t = 0; t < n; ++t) {
      const float* row = qkv.data() + t * (q_dim + 2 * kv_dim);
      std::copy(row, row + q_dim, q.data() + t * q_dim);
      std::copy(row + q_dim, row + q_dim + kv_dim, k.data() + t * kv_dim);
      std::copy(row + q_dim + kv_dim, row + q_dim + 2 * kv_dim, v.data() + t * kv_dim);
    }
  } else {
    const MatmulOut outs[] = {{&w.wq, q.data()}, {&w.wk, k.data()}, {&w.wv, v.data()}};
    matmul(outs, 3, xn, n, pool);
    add_bias(w.bq, q.data(), n);
    add_bias(w.bk, k.data(), n);
    add_bias(w.bv, v.data(), n);
    apply_lora(batch, il, LoraTarget::Q, xn, hp.n_embd, q.data(), q_dim, pool);
    apply_lora(batch, il, LoraTarget::K, xn, hp.n_embd, k.data(), kv_dim, pool);
    apply_lora(batch, il, LoraTarget::V, xn, hp.n_embd, v.data(), kv_dim, pool);
  }

  const float* freq_factors = weights.rope_freqs.present() ? weights.rope_freqs.f32() : nullptr;
  std::vector<float> cos_sin(hp.n_rot);
  for (int64_t t = 0; t < n; ++t) {
    const int64_t pos = batch.positions[t];
    rope_angles(hp.n_rot, pos, hp.rope_theta, hp.rope_freq_scale, freq_factors, cos_sin.data());
    for (int64_t h = 0; h < hp.n_head; ++h) {
      float* qh = q.data() + t * q_dim + h * hd;
      if (w.q_norm.present()) rms_norm(qh, w.q_norm.f32(), qh, hd, hp.norm_eps);
      rope_rotate(qh, hp.n_rot, cos_sin.data(), hp.rope_style);
    }
    for (int64_t h = 0; h < hp.n_head_kv; ++h) {
      float* kh = k.data() + t * kv_dim + h * hd;
      if (w.k_norm.present()) rms_norm(kh, w.k_norm.f32(), kh, hd, hp.norm_eps);
      rope_rotate(kh, hp.n_rot, cos_sin.data(), hp.rope_style);
    }
    kv.store(il, batch.seq_ids[t], pos, k.data() + t * kv_dim, v.data() + t * kv_dim);
  }

  std::vector<float> attn(n * q_dim);
  attention({hp.n_head, hp.n_head_kv, hd}, batch, q.data(), kv, il, 1.0f / std::sqrt(static_cast<float>(hd)),
            attn.data(), pool);
  linear(w.wo, w.bo, attn.data(), n, out, pool);
  apply_lora(batch, il, LoraTarget::O, attn.data(), q_dim, out, hp.n_embd, pool);
}

void ffn_swiglu(const LayerWeights& w, const Batch& batch, int il, const float* xn, float* out, ThreadPool& pool) {
  const int64_t n = batch.size(), ff = w.ffn_up.rows(), d = w.ffn_up.cols();
  std::vector<float> gate(n * ff), up(n * ff);
  const MatmulOut outs[] = {{&w.ffn_gate, gate.data()}, {&w.ffn_up, up.data()}};
  matmul(outs, 2, xn, n, pool);
  add_bias(w.ffn_up_b, up.data(), n);
  apply_lora(batch, il, LoraTarget::Gate, xn, d, gate.data(), ff, pool);
  apply_lora(batch, il, LoraTarget::Up, xn, d, up.data(), ff, pool);
  kernels::active().silu_mul(gate.data(), up.data(), n * ff);
  linear(w.ffn_down, w.ffn_down_b, gate.data(), n, out, pool);
  apply_lora(batch, il, LoraTarget::Down, gate.data(), ff, out, d, pool);
}

void ffn_gelu(const LayerWeights& w, const float* xn, int64_t n, float* out, ThreadPool& pool) {
  const int64_t ff = w.ffn_up.rows();
  std::vector<float> up(n * ff);
  linear(w.ffn_up, w.ffn_up_b, xn, n, up.data(), pool);
  for (float& u : up) u = gelu(u);
  linear(w.ffn_down, w.ffn_down_b, up.data(), n, out, pool);
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
