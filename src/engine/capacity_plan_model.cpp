#include "engine/capacity_plan_model.h"

#include <cctype>
#include <stdexcept>

namespace citadel {

std::vector<WeightTensor> derive_tensors(const ModelShape& s) {
  validate_shape(s);
  std::vector<WeightTensor> t;
  auto add = [&](WeightRole role, int layer, int64_t n) { t.push_back({role, layer, n, 0}); };
  const int64_t q_width = s.n_heads * s.head_dim;
  const int64_t kv_width = s.n_kv_heads * s.head_dim;

  add(WeightRole::TokenEmbedding, -1, s.vocab * s.d_model);
  for (int l = 0; l < static_cast<int>(s.n_layers); ++l) {
    if (s.fused_qkv) {
      add(WeightRole::AttnQkv, l, s.d_model * (q_width + 2 * kv_width));
    } else {
      add(WeightRole::AttnQ, l, s.d_model * q_width);
      add(WeightRole::AttnK, l, s.d_model * kv_width);
      add(WeightRole::AttnV, l, s.d_model * kv_width);
    }
    if (s.qkv_bias) add(WeightRole::Vector, l, q_width + 2 * kv_width);
    add(WeightRole::AttnOutput, l, q_width * s.d_model);
    if (s.gated_ffn) add(WeightRole::FfnGate, l, s.d_model * s.ffn_dim);
    add(WeightRole::FfnUp, l, s.d_model * s.ffn_dim);
    add(WeightRole::FfnDown, l, s.ffn_dim * s.d_model);
    // Two norms per block; Falcon's LayerNorms also carry a bias each.
    add(WeightRole::Vector, l, (s.architecture == "falcon" ? 4 : 2) * s.d_model);
  }
  add(WeightRole::Vector, -1, (s.architecture == "falcon" ? 2 : 1) * s.d_model);  // final norm
  if (!s.tied_embeddings) add(WeightRole::Output, -1, s.vocab * s.d_model);
  return t;
}

std::vector<WeightTensor> weight_tensors(const ModelShape& shape) {
  return shape.tensors.empty() ? derive_tensors(shape) : shape.tensors;
}

int64_t parameter_count(const std::vector<WeightTensor>& tensors) {
  int64_t n = 0;
  for (const auto& t : tensors) n += t.n_elements;
  return n;
}

namespace {

bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// The number after "blk.", "layers." or ".h." ("transformer.h.12.mlp..."), or -1.
int layer_index(const std::string& name) {
  for (const char* prefix : {"blk.", "layers.", ".h."}) {
    size_t p = name.find(prefix);
    if (p == std::string::npos) continue;
    p += std::char_traits<char>::length(prefix);
    if (p >= name.size() || !std::isdigit(static_cast<unsigned char>(name[p]))) continue;
    int v = 0;
    while (p < name.size() && std::isdigit(static_cast<unsigned char>(name[p]))) v = v * 10 + (name[p++] - '0');
    return v;
  }
  return -1;
}

WeightRole role_of(const std::string& n) {
  // GGUF names first, then Hugging Face (Llama/Qwen2, Falcon, Qwen1) spellings.
  if (has(n, "token_embd") || has(n, "embed_tokens") || has(n, "word_embeddings") || has(n, "wte.")) return WeightRole::TokenEmbedding;
  if (n == "output.weight" || has(n, "lm_head")) return WeightRole::Output;
  if (has(n, "attn_qkv") || has(n, "query_key_value") || has(n, "c_attn")) return WeightRole::AttnQkv;
  if (has(n, "attn_q.") || has(n, "q_proj")) return WeightRole::AttnQ;
  if (has(n, "attn_k.") || has(n, "k_proj")) return WeightRole::AttnK;
  if (has(n, "attn_v.") || has(n, "v_proj")) return WeightRole::AttnV;
  if (has(n, "attn_output") || has(n, "o_proj") || has(n, "self_attention.dense") || has(n, "attn.c_proj")) return WeightRole::AttnOutput;
  if (has(n, "ffn_gate") || has(n, "gate_proj") || has(n, "mlp.w2")) return WeightRole::FfnGate;
  if (has(n, "ffn_up") || has(n, "up_proj") || has(n, "dense_h_to_4h") || has(n, "mlp.w1")) return WeightRole::FfnUp;
  if (has(n, "ffn_down") || has(n, "down_proj") || has(n, "dense_4h_to_h") || has(n, "mlp.c_proj")) return WeightRole::FfnDown;
  return WeightRole::Other;
}

}  // namespace

WeightTensor classify_tensor(const std::string& name, const std::vector<int64_t>& shape) {
  WeightTensor t;
  t.n_elements = 1;
  int dims = 0;
  for (int64_t d : shape) {
    t.n_elements *= d;
    if (d > 1) ++dims;
  }
  t.layer = layer_index(name);
  t.role = dims <= 1 ? WeightRole::Vector : role_of(name);
  return t;
}

void validate_shape(const ModelShape& s) {
  auto need = [&](int64_t v, const char* what) {
    if (v <= 0) throw std::invalid_argument("model '" + s.name + "': " + what + " must be positive (got " + std::to_string(v) + ")");
  };
  need(s.n_layers, "block count");
  need(s.d_model, "embedding length");
  need(s.n_heads, "attention head count");
  need(s.n_kv_heads, "key/value head count");
  need(s.head_dim, "head dimension");
  need(s.ffn_dim, "feed-forward length");
  need(s.vocab, "vocabulary size");
  need(s.context_length, "context length");
  if (s.n_heads % s.n_kv_heads != 0)
    throw std::invalid_argument("model '" + s.name + "': " + std::to_string(s.n_heads) + " heads are not a multiple of " +
                                std::to_string(s.n_kv_heads) + " key/value heads");
}

}  // namespace citadel
