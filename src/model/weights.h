// The weight tensors of a decoder-only transformer, named as in GGUF ("blk.N.attn_q.weight", ...).
// Optional tensors (biases, QK norms, a fused QKV) are left empty (Tensor::present() is false).
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"

namespace citadel {

struct LayerWeights {
  Tensor attn_norm, attn_norm_b;      // pre-attention norm (bias: LayerNorm models)
  Tensor attn_norm_2, attn_norm_2_b;  // Falcon-40B: ln_attn (attn_norm is then ln_mlp)
  Tensor wq, wk, wv, wqkv, wo;        // wqkv: fused projection (Falcon)
  Tensor bq, bk, bv, bqkv, bo;
  Tensor q_norm, k_norm;              // per-head RMS norms (Qwen3)
  Tensor ffn_norm, ffn_norm_b;
  Tensor ffn_gate, ffn_up, ffn_down;
  Tensor ffn_up_b, ffn_down_b;
};

struct Weights {
  Tensor tok_embd;
  Tensor output_norm, output_norm_b;
  Tensor output;      // the LM head; equals tok_embd when the model ties them
  Tensor rope_freqs;  // Llama 3.1 frequency factors (optional)
  std::vector<LayerWeights> layers;
};

// Name -> tensor view, with shape-checked lookups that name the tensor on error.
class TensorMap {
 public:
  void add(const Tensor& t) { tensors_[t.name] = t; }
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  size_t size() const { return tensors_.size(); }
  // Expects shape {ne0} (ne1 == 0) or {ne0, ne1}; throws FormatError if absent, misshaped or of a
  // type the kernels cannot use.
  Tensor get(const std::string& name, int64_t ne0, int64_t ne1 = 0) const;
  // Like get(), but an absent tensor gives an empty Tensor.
  Tensor get_optional(const std::string& name, int64_t ne0, int64_t ne1 = 0) const;

 private:
  std::unordered_map<std::string, Tensor> tensors_;
};

// "blk.<il>.<suffix>"
std::string layer_tensor_name(int il, const std::string& suffix);

}  // namespace citadel
