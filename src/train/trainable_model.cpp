#include "train/trainable_model.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "core/gemm_f32.h"
#include "core/matmul.h"
#include "model/lora_apply.h"
#include "train/attention.h"
#include "train/frozen_linear.h"
#include "train/row_ops.h"

namespace citadel {

// Full mode: every weight as floats, with its gradient; `w` views them as F32 tensors.
struct TrainableModel::FullWeights {
  Weights w;
  std::vector<std::unique_ptr<std::vector<float>>> values, grads;
  std::map<const void*, float*> grad_of;  // tensor data -> its gradient (tied heads share one)
};

// Activations of one layer kept for the backward.
struct LayerCache {
  std::vector<float> x_in, xn1, rstd1, q_lin, k_lin, q_rstd, k_rstd, q, k, v, attn, lse;
  std::vector<float> x_mid, xn2, rstd2, gate, up, act;
  std::array<std::vector<float>, kLoraTargetCount> u;  // A x of each adapted projection
};

struct TrainableModel::Impl {
  FrozenLinear frozen;
  std::vector<LayerCache> layers;
};

namespace {

constexpr int64_t kLogitRows = 64;  // scored rows per pass of the LM head (bounds its memory)

void check_llama_family(const Model& m) {
  const std::string& a = m.hparams().arch;
  if (a != "llama" && a != "qwen2" && a != "qwen3")
    throw std::invalid_argument("training supports llama, qwen2 and qwen3 models, not " + a);
  for (const LayerWeights& l : m.weights().layers)
    if (l.wqkv.present() || l.ffn_up_b.present() || l.ffn_down_b.present() || l.attn_norm_b.present())
      throw std::invalid_argument("the model has weights outside the llama family's shape");
}

void add_into(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void add_bias(const Tensor& b, float* y, int64_t n, int64_t width) {
  if (!b.present()) return;
  for (int64_t t = 0; t < n; ++t) add_into(y + t * width, b.f32(), width);
}

}  // namespace

TrainableModel::TrainableModel(const Model& base, ThreadPool& pool)
    : base_(base), pool_(pool), impl_(std::make_unique<Impl>()) {
  check_llama_family(base);
}

TrainableModel::~TrainableModel() = default;

std::unique_ptr<TrainableModel> TrainableModel::lora(const Model& base, std::shared_ptr<LoraAdapter> adapter,
                                                     ThreadPool& pool) {
  std::unique_ptr<TrainableModel> m(new TrainableModel(base, pool));
  try {
    adapter->check_fits(base);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("the adapter does not fit the model: ") + e.what());
  }
  m->adapter_ = std::move(adapter);
  m->lora_grads_.resize(m->adapter_->layers.size());
  for (size_t il = 0; il < m->adapter_->layers.size(); ++il)
    for (int t = 0; t < kLoraTargetCount; ++t) {
      LoraPair& p = m->adapter_->layers[il][t];
      if (!p.present()) continue;
      auto& ga = m->lora_grads_[il][2 * t];
      auto& gb = m->lora_grads_[il][2 * t + 1];
      ga.assign(p.a.size(), 0.0f);
      gb.assign(p.b.size(), 0.0f);
      const std::string name = "blk." + std::to_string(il) + "." + lora_target_name(static_cast<LoraTarget>(t));
      m->params_.push_back({name + ".lora_a", p.a.data(), ga.data(), static_cast<int64_t>(p.a.size()), true});
      m->params_.push_back({name + ".lora_b", p.b.data(), gb.data(), static_cast<int64_t>(p.b.size()), true});
    }
  return m;
}

std::unique_ptr<TrainableModel> TrainableModel::full(const Model& base, ThreadPool& pool) {
  std::unique_ptr<TrainableModel> m(new TrainableModel(base, pool));
  auto fw = std::make_unique<FullWeights>();
  const Weights& bw = base.weights();
  fw->w = bw;
  std::map<const void*, Tensor*> done;  // a tied head is copied once
  auto copy = [&](Tensor& t, bool decay) {
    if (!t.present()) return;
    auto it = done.find(t.data);
    if (it != done.end()) {
      t = *it->second;
      return;
    }
    const void* original = t.data;
    const int64_t rows = t.rows(), cols = t.cols();
    auto values = std::make_unique<std::vector<float>>(static_cast<size_t>(rows * cols));
    pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) get_row(t, r, values->data() + r * cols);
    }, 64);
    auto grads = std::make_unique<std::vector<float>>(values->size(), 0.0f);
    t.type = TensorType::F32;
    t.rows8 = false;
    t.data = values->data();
    fw->grad_of[t.data] = grads->data();
    m->params_.push_back({t.name, values->data(), grads->data(), rows * cols, decay});
    fw->values.push_back(std::move(values));
    fw->grads.push_back(std::move(grads));
    done[original] = &t;
  };
  copy(fw->w.tok_embd, true);
  copy(fw->w.output_norm, false);
  copy(fw->w.output, true);
  for (LayerWeights& l : fw->w.layers) {
    for (Tensor* t : {&l.attn_norm, &l.ffn_norm, &l.q_norm, &l.k_norm, &l.bq, &l.bk, &l.bv, &l.bo}) copy(*t, false);
    for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down}) copy(*t, true);
  }
  m->full_ = std::move(fw);
  return m;
}

const Weights& TrainableModel::weights() const { return full_ ? full_->w : base_.weights(); }

void TrainableModel::zero_grad() {
  for (Param& p : params_) std::fill(p.grad, p.grad + p.size, 0.0f);
}

size_t TrainableModel::extra_bytes() const {
  size_t b = impl_->frozen.bytes();
  for (const Param& p : params_) b += static_cast<size_t>(p.size) * sizeof(float) * (full_ ? 2 : 1);
  return b;
}

LossSums TrainableModel::train_step(const TrainBatch& batch, const LossWeights& w, float grad_scale) {
  return run(batch, w, grad_scale, true, nullptr);
}

LossSums TrainableModel::evaluate(const TrainBatch& batch, const LossWeights& w) {
  return run(batch, w, 0.0f, false, nullptr);
}

std::vector<float> TrainableModel::logits(const TrainBatch& batch) {
  std::vector<float> out;
  run(batch, LossWeights{}, 0.0f, false, &out);
  return out;
}

LossSums TrainableModel::run(const TrainBatch& batch, const LossWeights& lw, float grad_scale, bool backward,
                             std::vector<float>* all_logits) {
  const HParams& hp = base_.hparams();
  const Weights& W = weights();
  ThreadPool& pool = pool_;
  const int64_t n = batch.rows(), d = hp.n_embd, qd = hp.q_dim(), kvd = hp.kv_dim(), ff = hp.n_ff, hd = hp.head_dim;
  const int64_t vocab = hp.n_vocab;
  if (n == 0) return {};
  if (batch.starts.empty() || batch.starts[0] != 0 || batch.targets.size() != batch.tokens.size())
    throw std::invalid_argument("malformed training batch");
  for (int32_t t : batch.tokens)
    if (t < 0 || t >= vocab) throw std::invalid_argument("token id " + std::to_string(t) + " outside the vocabulary");
  for (int32_t t : batch.targets)
    if (t >= vocab) throw std::invalid_argument("target id " + std::to_string(t) + " outside the vocabulary");
  const std::vector<int32_t> positions = batch.positions();
  for (int32_t p : positions)
    if (p >= hp.n_ctx_train)
      throw std::invalid_argument("a training sequence is longer than the model's context of " +
                                  std::to_string(hp.n_ctx_train));
  const AttentionShape shape{hp.n_head, hp.n_head_kv, hd};
  const RopeParams rope{hp.n_rot, hd, hp.rope_theta, hp.rope_freq_scale,
                        W.rope_freqs.present() ? W.rope_freqs.f32() : nullptr, hp.rope_style};
  auto grad_of = [&](const Tensor& t) -> float* {
    if (!full_ || !t.present()) return nullptr;
    return full_->grad_of.at(t.data);
  };
  auto pair_of = [&](int il, LoraTarget t) -> const LoraPair* { return adapter_ ? adapter_->get(il, t) : nullptr; };

  // y = W x (+ b) (+ LoRA), keeping A x in `u` for the backward.
  auto project = [&](int il, LoraTarget t, const Tensor& b, const float* x, float* y, int64_t out,
                     std::vector<float>& u) {
    add_bias(b, y, n, out);
    if (const LoraPair* p = pair_of(il, t)) {
      u.resize(static_cast<size_t>(n * p->rank));
      lora_forward(*p, adapter_->scale(*p), x, n, y, pool, u.data());
    }
  };
  // dx += dy W (+ the LoRA path), parameter gradients for the trained parts.
  auto project_back = [&](int il, LoraTarget t, const Tensor& wt, const Tensor& b, const float* x,
                          const std::vector<float>& u, const float* dy, float* dx) {
    const int64_t in = wt.cols(), out = wt.rows();
    impl_->frozen.backward(wt, dy, n, dx, pool);
    if (float* g = grad_of(wt)) gemm_atb_acc(dy, x, g, n, out, in, pool);
    if (float* g = grad_of(b)) add_column_sums(dy, n, out, g);
    const LoraPair* p = pair_of(il, t);
    if (!p) return;
    const float s = adapter_->scale(*p);
    const int64_t r = p->rank;
    std::vector<float> du(static_cast<size_t>(n * r), 0.0f), us(u);
    gemm_ab_acc(dy, p->b.data(), du.data(), n, r, out, pool);  // du = s dy B
    for (float& v : du) v *= s;
    for (float& v : us) v *= s;
    auto& grads = lora_grads_[il];
    gemm_atb_acc(dy, us.data(), grads[2 * static_cast<int>(t) + 1].data(), n, out, r, pool);  // dB += s dy^T u
    gemm_atb_acc(du.data(), x, grads[2 * static_cast<int>(t)].data(), n, r, in, pool);        // dA += du^T x
    gemm_ab_acc(du.data(), p->a.data(), dx, n, in, r, pool);                                  // dx += du A
  };

  std::vector<LayerCache>& caches = impl_->layers;
  caches.resize(static_cast<size_t>(hp.n_layer));
  std::vector<float> x(static_cast<size_t>(n * d));
  for (int64_t t = 0; t < n; ++t) get_row(W.tok_embd, batch.tokens[t], x.data() + t * d);

  for (int il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& L = W.layers[il];
    LayerCache& C = caches[il];
    C.x_in = x;
    C.xn1.resize(n * d), C.rstd1.resize(n);
    rms_norm_forward(x.data(), L.attn_norm.f32(), C.xn1.data(), C.rstd1.data(), n, d, hp.norm_eps, pool);
    C.q.resize(n * qd), C.k.resize(n * kvd), C.v.resize(n * kvd);
    const MatmulOut qkv[] = {{&L.wq, C.q.data()}, {&L.wk, C.k.data()}, {&L.wv, C.v.data()}};
    matmul(qkv, 3, C.xn1.data(), n, pool);
    project(il, LoraTarget::Q, L.bq, C.xn1.data(), C.q.data(), qd, C.u[0]);
    project(il, LoraTarget::K, L.bk, C.xn1.data(), C.k.data(), kvd, C.u[1]);
    project(il, LoraTarget::V, L.bv, C.xn1.data(), C.v.data(), kvd, C.u[2]);
    if (L.q_norm.present()) {
      C.q_lin = C.q, C.k_lin = C.k;
      C.q_rstd.resize(n * hp.n_head), C.k_rstd.resize(n * hp.n_head_kv);
      rms_norm_forward(C.q_lin.data(), L.q_norm.f32(), C.q.data(), C.q_rstd.data(), n * hp.n_head, hd, hp.norm_eps, pool);
      rms_norm_forward(C.k_lin.data(), L.k_norm.f32(), C.k.data(), C.k_rstd.data(), n * hp.n_head_kv, hd, hp.norm_eps,
                       pool);
    }
    rope_rows(rope, positions.data(), C.q.data(), n, hp.n_head, false, pool);
    rope_rows(rope, positions.data(), C.k.data(), n, hp.n_head_kv, false, pool);
    C.attn.resize(n * qd), C.lse.resize(n * hp.n_head);
    attention_forward(shape, batch.starts, n, C.q.data(), C.k.data(), C.v.data(), C.attn.data(), C.lse.data(), pool);
    std::vector<float> branch(n * d);
    matmul(L.wo, C.attn.data(), n, branch.data(), pool);
    project(il, LoraTarget::O, L.bo, C.attn.data(), branch.data(), d, C.u[3]);
    add_into(x.data(), branch.data(), n * d);

    C.x_mid = x;
    C.xn2.resize(n * d), C.rstd2.resize(n);
    rms_norm_forward(x.data(), L.ffn_norm.f32(), C.xn2.data(), C.rstd2.data(), n, d, hp.norm_eps, pool);
    C.gate.resize(n * ff), C.up.resize(n * ff), C.act.resize(n * ff);
    const MatmulOut gu[] = {{&L.ffn_gate, C.gate.data()}, {&L.ffn_up, C.up.data()}};
    matmul(gu, 2, C.xn2.data(), n, pool);
    project(il, LoraTarget::Gate, Tensor{}, C.xn2.data(), C.gate.data(), ff, C.u[4]);
    project(il, LoraTarget::Up, Tensor{}, C.xn2.data(), C.up.data(), ff, C.u[5]);
    silu_mul_forward(C.gate.data(), C.up.data(), C.act.data(), n * ff);
    matmul(L.ffn_down, C.act.data(), n, branch.data(), pool);
    project(il, LoraTarget::Down, Tensor{}, C.act.data(), branch.data(), d, C.u[6]);
    add_into(x.data(), branch.data(), n * d);
  }

  // Final norm, then the LM head and the loss a chunk of scored rows at a time.
  std::vector<float> hn(n * d), rstd_f(n);
  rms_norm_forward(x.data(), W.output_norm.f32(), hn.data(), rstd_f.data(), n, d, hp.norm_eps, pool);
  std::vector<int64_t> scored;
  for (int64_t t = 0; t < n; ++t)
    if (all_logits || batch.targets[t] >= 0) scored.push_back(t);
  if (all_logits) all_logits->resize(static_cast<size_t>(n * vocab));
  std::vector<float> dhn(backward ? n * d : 0, 0.0f);
  LossSums sums;
  std::vector<float> h, z, dh;
  std::vector<int32_t> tg, ids;
  std::vector<float> probs;
  const int k = batch.top_k;
  for (size_t c0 = 0; c0 < scored.size(); c0 += kLogitRows) {
    const int64_t m = std::min<int64_t>(kLogitRows, static_cast<int64_t>(scored.size() - c0));
    h.resize(m * d), z.resize(m * vocab), tg.resize(m), ids.resize(m * k), probs.resize(m * k);
    for (int64_t i = 0; i < m; ++i) {
      const int64_t t = scored[c0 + i];
      std::copy(hn.begin() + t * d, hn.begin() + (t + 1) * d, h.begin() + i * d);
      tg[i] = batch.targets[t];
      if (k > 0) {
        std::copy(batch.teacher_ids.begin() + t * k, batch.teacher_ids.begin() + (t + 1) * k, ids.begin() + i * k);
        std::copy(batch.teacher_probs.begin() + t * k, batch.teacher_probs.begin() + (t + 1) * k, probs.begin() + i * k);
      }
    }
    matmul(W.output, h.data(), m, z.data(), pool);
    if (all_logits) {
      for (int64_t i = 0; i < m; ++i)
        std::copy(z.begin() + i * vocab, z.begin() + (i + 1) * vocab, all_logits->begin() + scored[c0 + i] * vocab);
      continue;
    }
    sums += loss_rows(z.data(), m, vocab, tg.data(), k, ids.data(), probs.data(), lw, backward ? grad_scale : 0.0f, pool);
    if (!backward) continue;
    dh.assign(m * d, 0.0f);
    impl_->frozen.backward(W.output, z.data(), m, dh.data(), pool);
    if (float* g = grad_of(W.output)) gemm_atb_acc(z.data(), h.data(), g, m, vocab, d, pool);
    for (int64_t i = 0; i < m; ++i)
      std::copy(dh.begin() + i * d, dh.begin() + (i + 1) * d, dhn.begin() + scored[c0 + i] * d);
  }
  if (!backward) return sums;

  std::vector<float> dx(n * d);
  rms_norm_backward(x.data(), W.output_norm.f32(), rstd_f.data(), dhn.data(), dx.data(), grad_of(W.output_norm), n, d,
                    false, pool);
  std::vector<float> dact, dgate, dup, dxn, dattn, dq, dk, dv;
  for (int il = static_cast<int>(hp.n_layer) - 1; il >= 0; --il) {
    const LayerWeights& L = W.layers[il];
    LayerCache& C = caches[il];
    // FFN: x += down(silu(gate xn2) * up xn2)
    dact.assign(n * ff, 0.0f);
    project_back(il, LoraTarget::Down, L.ffn_down, Tensor{}, C.act.data(), C.u[6], dx.data(), dact.data());
    dgate.resize(n * ff), dup.resize(n * ff);
    silu_mul_backward(C.gate.data(), C.up.data(), dact.data(), dgate.data(), dup.data(), n * ff);
    dxn.assign(n * d, 0.0f);
    project_back(il, LoraTarget::Gate, L.ffn_gate, Tensor{}, C.xn2.data(), C.u[4], dgate.data(), dxn.data());
    project_back(il, LoraTarget::Up, L.ffn_up, Tensor{}, C.xn2.data(), C.u[5], dup.data(), dxn.data());
    rms_norm_backward(C.x_mid.data(), L.ffn_norm.f32(), C.rstd2.data(), dxn.data(), dx.data(), grad_of(L.ffn_norm), n,
                      d, true, pool);
    // Attention: x += wo attention(rope(q), rope(k), v)
    dattn.assign(n * qd, 0.0f);
    project_back(il, LoraTarget::O, L.wo, L.bo, C.attn.data(), C.u[3], dx.data(), dattn.data());
    dq.resize(n * qd), dk.resize(n * kvd), dv.resize(n * kvd);
    attention_backward(shape, batch.starts, n, C.q.data(), C.k.data(), C.v.data(), C.attn.data(), C.lse.data(),
                       dattn.data(), dq.data(), dk.data(), dv.data(), pool);
    rope_rows(rope, positions.data(), dq.data(), n, hp.n_head, true, pool);
    rope_rows(rope, positions.data(), dk.data(), n, hp.n_head_kv, true, pool);
    if (L.q_norm.present()) {
      std::vector<float> lin(n * qd);
      rms_norm_backward(C.q_lin.data(), L.q_norm.f32(), C.q_rstd.data(), dq.data(), lin.data(), grad_of(L.q_norm),
                        n * hp.n_head, hd, false, pool);
      dq.swap(lin);
      lin.resize(n * kvd);
      rms_norm_backward(C.k_lin.data(), L.k_norm.f32(), C.k_rstd.data(), dk.data(), lin.data(), grad_of(L.k_norm),
                        n * hp.n_head_kv, hd, false, pool);
      dk.swap(lin);
    }
    dxn.assign(n * d, 0.0f);
    project_back(il, LoraTarget::Q, L.wq, L.bq, C.xn1.data(), C.u[0], dq.data(), dxn.data());
    project_back(il, LoraTarget::K, L.wk, L.bk, C.xn1.data(), C.u[1], dk.data(), dxn.data());
    project_back(il, LoraTarget::V, L.wv, L.bv, C.xn1.data(), C.u[2], dv.data(), dxn.data());
    rms_norm_backward(C.x_in.data(), L.attn_norm.f32(), C.rstd1.data(), dxn.data(), dx.data(), grad_of(L.attn_norm),
                      n, d, true, pool);
  }
  if (float* g = grad_of(W.tok_embd))
    for (int64_t t = 0; t < n; ++t) add_into(g + static_cast<int64_t>(batch.tokens[t]) * d, dx.data() + t * d, d);
  return sums;
}

}  // namespace citadel
