// Falcon (7B/40B/180B): LayerNorm with bias, fused QKV projection, multi-query or grouped KV,
// NeoX RoPE, and attention and GELU MLP computed in parallel from the same input:
//   x = x + attn(norm_2(x)) + mlp(norm(x))
// Falcon-40B's GGUF stores ln_attn as attn_norm_2 and ln_mlp as attn_norm; Falcon-7B has only
// attn_norm, which then feeds both branches.
#include <vector>

#include "model/architecture.h"
#include "model/model.h"
#include "model/scratch.h"
#include "model/transformer.h"

namespace citadel {
namespace {

void bind_falcon(const TensorMap& t, const HParams& hp, Weights& w) {
  const int64_t d = hp.n_embd, q = hp.q_dim(), kvd = hp.kv_dim(), ff = hp.n_ff;
  w.tok_embd = t.get("token_embd.weight", d, hp.n_vocab);
  w.output_norm = t.get("output_norm.weight", d);
  w.output_norm_b = t.get("output_norm.bias", d);
  w.output = t.has("output.weight") ? t.get("output.weight", d, hp.n_vocab) : w.tok_embd;
  w.layers.resize(hp.n_layer);
  for (int il = 0; il < hp.n_layer; ++il) {
    auto name = [il](const char* s) { return layer_tensor_name(il, s); };
    LayerWeights& l = w.layers[il];
    l.attn_norm = t.get(name("attn_norm.weight"), d);
    l.attn_norm_b = t.get(name("attn_norm.bias"), d);
    l.attn_norm_2 = t.get_optional(name("attn_norm_2.weight"), d);
    l.attn_norm_2_b = t.get_optional(name("attn_norm_2.bias"), d);
    l.wqkv = t.get(name("attn_qkv.weight"), d, q + 2 * kvd);
    l.bqkv = t.get_optional(name("attn_qkv.bias"), q + 2 * kvd);
    l.wo = t.get(name("attn_output.weight"), q, d);
    l.bo = t.get_optional(name("attn_output.bias"), d);
    l.ffn_up = t.get(name("ffn_up.weight"), d, ff);
    l.ffn_up_b = t.get_optional(name("ffn_up.bias"), ff);
    l.ffn_down = t.get(name("ffn_down.weight"), ff, d);
    l.ffn_down_b = t.get_optional(name("ffn_down.bias"), d);
  }
}

void falcon_forward(const Model& m, const Batch& batch, KvCache& kv, ThreadPool& pool, float* logits,
                    float* hidden) {
  const HParams& hp = m.hparams();
  const Weights& w = m.weights();
  const int64_t n = batch.size(), d = hp.n_embd;
  float* x = scratch(Scratch::X, n * d);
  float* xn = scratch(Scratch::XN, n * d);
  float* xn_attn = scratch(Scratch::XN2, n * d);
  float* attn = scratch(Scratch::Branch, n * d);
  float* mlp = scratch(Scratch::Branch2, n * d);

  embed_tokens(w.tok_embd, batch, x);
  for (int il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& l = w.layers[il];
    layer_norm_rows(x, l.attn_norm, l.attn_norm_b, xn, n, d, hp.norm_eps);
    const float* attn_in = xn;
    if (l.attn_norm_2.present()) {
      layer_norm_rows(x, l.attn_norm_2, l.attn_norm_2_b, xn_attn, n, d, hp.norm_eps);
      attn_in = xn_attn;
    }
    self_attention(hp, w, il, batch, attn_in, attn, kv, pool);
    ffn_gelu(l, xn, n, mlp, pool);
    add_rows(x, attn, n, d);
    add_rows(x, mlp, n, d);
  }
  output_logits(hp, w, NormKind::Layer, batch, x, logits, hidden, pool);
}

}  // namespace

const Architecture kFalconArchitecture = {"falcon", bind_falcon, falcon_forward};

}  // namespace citadel
