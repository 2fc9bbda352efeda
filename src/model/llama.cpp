// Llama 2/3, Mistral, SmolLM, TinyLlama: pre-norm decoder, RMSNorm, RoPE, grouped-query
// attention, SwiGLU MLP, output head tied to the embeddings or not.
#include "model/llama.h"

#include <vector>

#include "model/model.h"
#include "model/scratch.h"
#include "model/transformer.h"

namespace citadel {

void bind_llama_family(const TensorMap& t, const HParams& hp, Weights& w) {
  const int64_t d = hp.n_embd, q = hp.q_dim(), kvd = hp.kv_dim(), ff = hp.n_ff;
  w.tok_embd = t.get("token_embd.weight", d, hp.n_vocab);
  w.output_norm = t.get("output_norm.weight", d);
  w.output = t.has("output.weight") ? t.get("output.weight", d, hp.n_vocab) : w.tok_embd;
  w.rope_freqs = t.get_optional("rope_freqs.weight", hp.n_rot / 2);
  w.layers.resize(hp.n_layer);
  for (int il = 0; il < hp.n_layer; ++il) {
    auto name = [il](const char* s) { return layer_tensor_name(il, s); };
    LayerWeights& l = w.layers[il];
    l.attn_norm = t.get(name("attn_norm.weight"), d);
    l.wq = t.get(name("attn_q.weight"), d, q);
    l.wk = t.get(name("attn_k.weight"), d, kvd);
    l.wv = t.get(name("attn_v.weight"), d, kvd);
    l.wo = t.get(name("attn_output.weight"), q, d);
    l.bq = t.get_optional(name("attn_q.bias"), q);
    l.bk = t.get_optional(name("attn_k.bias"), kvd);
    l.bv = t.get_optional(name("attn_v.bias"), kvd);
    l.bo = t.get_optional(name("attn_output.bias"), d);
    l.q_norm = t.get_optional(name("attn_q_norm.weight"), hp.head_dim);
    l.k_norm = t.get_optional(name("attn_k_norm.weight"), hp.head_dim);
    l.ffn_norm = t.get(name("ffn_norm.weight"), d);
    l.ffn_gate = t.get(name("ffn_gate.weight"), d, ff);
    l.ffn_up = t.get(name("ffn_up.weight"), d, ff);
    l.ffn_down = t.get(name("ffn_down.weight"), ff, d);
  }
}

void llama_forward(const Model& m, const Batch& batch, KvCache& kv, ThreadPool& pool, float* logits,
                    float* hidden) {
  const HParams& hp = m.hparams();
  const Weights& w = m.weights();
  const int64_t n = batch.size(), d = hp.n_embd;
  float* x = scratch(Scratch::X, n * d);
  float* xn = scratch(Scratch::XN, n * d);
  float* branch = scratch(Scratch::Branch, n * d);

  embed_tokens(w.tok_embd, batch, x);
  for (int il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& l = w.layers[il];
    rms_norm_rows(x, l.attn_norm, xn, n, d, hp.norm_eps);
    self_attention(hp, w, il, batch, xn, branch, kv, pool);
    add_rows(x, branch, n, d);

    rms_norm_rows(x, l.ffn_norm, xn, n, d, hp.norm_eps);
    ffn_swiglu(l, batch, il, xn, branch, pool);
    add_rows(x, branch, n, d);
  }
  output_logits(hp, w, NormKind::Rms, batch, x, logits, hidden, pool);
}

const Architecture kLlamaArchitecture = {"llama", bind_llama_family, llama_forward};

}  // namespace citadel
