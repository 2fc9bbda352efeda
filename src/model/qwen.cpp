// Qwen2 / Qwen2.5 and Qwen3: the Llama shape with NeoX-style RoPE (set in HParams), plus
// biases on the Q/K/V projections (Qwen2) or per-head RMS norms on Q and K before RoPE (Qwen3,
// whose head size comes from attention.key_length). The forward pass is Llama's.
#include "model/llama.h"
#include "core/gguf.h"

namespace citadel {
namespace {

void bind_qwen2(const TensorMap& t, const HParams& hp, Weights& w) {
  bind_llama_family(t, hp, w);
  for (size_t il = 0; il < w.layers.size(); ++il)
    if (!w.layers[il].bq.present() || !w.layers[il].bk.present() || !w.layers[il].bv.present())
      throw FormatError("qwen2 model lacks the Q/K/V biases of layer " + std::to_string(il));
}

void bind_qwen3(const TensorMap& t, const HParams& hp, Weights& w) {
  bind_llama_family(t, hp, w);
  for (size_t il = 0; il < w.layers.size(); ++il)
    if (!w.layers[il].q_norm.present() || !w.layers[il].k_norm.present())
      throw FormatError("qwen3 model lacks attn_q_norm / attn_k_norm of layer " + std::to_string(il));
}

}  // namespace

const Architecture kQwen2Architecture = {"qwen2", bind_qwen2, llama_forward};
const Architecture kQwen3Architecture = {"qwen3", bind_qwen3, llama_forward};

}  // namespace citadel
