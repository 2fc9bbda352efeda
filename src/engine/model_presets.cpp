#include "engine/model_presets.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace citadel {
namespace {

struct Hp {
  const char* name;
  const char* arch;
  int64_t layers, d_model, heads, kv_heads, head_dim, ffn, vocab, context;
  bool tied;
  const char* description;
};

ModelPreset make(const Hp& h) {
  ModelShape s;
  s.name = h.name;
  s.architecture = h.arch;
  s.source = "preset";
  s.n_layers = h.layers;
  s.d_model = h.d_model;
  s.n_heads = h.heads;
  s.n_kv_heads = h.kv_heads;
  s.head_dim = h.head_dim;
  s.ffn_dim = h.ffn;
  s.vocab = h.vocab;
  s.context_length = h.context;
  s.tied_embeddings = h.tied;
  s.gated_ffn = s.architecture != "falcon";
  s.fused_qkv = s.architecture == "falcon";
  s.qkv_bias = s.architecture == "qwen" || s.architecture == "qwen2";
  return {s, h.description};
}

// name, arch, layers, hidden, heads, kv heads, head dim, ffn (one branch), vocab, context, tied.
const Hp kPresets[] = {
    {"llama-2-7b", "llama", 32, 4096, 32, 32, 128, 11008, 32000, 4096, false, "Llama 2 7B (Meta), 6.7B parameters"},
    {"llama-2-13b", "llama", 40, 5120, 40, 40, 128, 13824, 32000, 4096, false, "Llama 2 13B (Meta), 13.0B parameters"},
    {"llama-2-70b", "llama", 80, 8192, 64, 8, 128, 28672, 32000, 4096, false, "Llama 2 70B (Meta), 69.0B parameters, GQA"},
    {"llama-3.1-8b", "llama", 32, 4096, 32, 8, 128, 14336, 128256, 131072, false, "Llama 3.1 8B (Meta), 8.0B parameters, GQA"},
    {"llama-3.1-70b", "llama", 80, 8192, 64, 8, 128, 28672, 128256, 131072, false, "Llama 3.1 70B (Meta), 70.6B parameters, GQA"},
    {"mistral-7b", "llama", 32, 4096, 32, 8, 128, 14336, 32000, 32768, false, "Mistral 7B v0.1, 7.2B parameters, GQA"},
    // Falcon: GELU MLP of 4 x hidden, fused query_key_value, tied embeddings, LayerNorm with bias.
    {"falcon-7b", "falcon", 32, 4544, 71, 1, 64, 18176, 65024, 2048, true, "Falcon 7B (TII), 6.9B parameters, multi-query"},
    {"falcon-40b", "falcon", 60, 8192, 128, 8, 64, 32768, 65024, 2048, true, "Falcon 40B (TII), 41.3B parameters, 8 KV groups"},
    // Qwen (v1): config intermediate_size 49152 is the sum of the two MLP branches (w1, w2), 24576 each.
    {"qwen-7b", "qwen", 32, 4096, 32, 32, 128, 11008, 151936, 32768, false, "Qwen 7B (Alibaba), 7.7B parameters"},
    {"qwen-72b", "qwen", 80, 8192, 64, 64, 128, 24576, 152064, 32768, false, "Qwen 72B (Alibaba), 72.3B parameters, no GQA"},
    {"qwen2.5-0.5b", "qwen2", 24, 896, 14, 2, 64, 4864, 151936, 32768, true, "Qwen2.5 0.5B, 0.49B parameters, GQA"},
    {"qwen2.5-7b", "qwen2", 28, 3584, 28, 4, 128, 18944, 152064, 32768, false, "Qwen2.5 7B, 7.6B parameters, GQA"},
    {"qwen2.5-72b", "qwen2", 80, 8192, 64, 8, 128, 29568, 152064, 32768, false, "Qwen2.5 72B, 72.7B parameters, GQA"},
    // Small models for edge boxes and CPU servers.
    {"tinyllama-1.1b", "llama", 22, 2048, 32, 4, 64, 5632, 32000, 2048, false, "TinyLlama 1.1B, GQA"},
    {"smollm2-135m", "llama", 30, 576, 9, 3, 64, 1536, 49152, 8192, true, "SmolLM2 135M (Hugging Face)"},
    {"smollm2-1.7b", "llama", 24, 2048, 32, 32, 64, 8192, 49152, 8192, true, "SmolLM2 1.7B (Hugging Face)"},
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

const std::vector<ModelPreset>& model_presets() {
  static const std::vector<ModelPreset> presets = [] {
    std::vector<ModelPreset> v;
    for (const Hp& h : kPresets) v.push_back(make(h));
    return v;
  }();
  return presets;
}

const ModelShape& find_preset(const std::string& name) {
  const std::string key = lower(name);
  for (const auto& p : model_presets())
    if (p.shape.name == key) return p.shape;
  throw std::invalid_argument("unknown preset '" + name + "' (known: " + preset_names() + ")");
}

std::string preset_names() {
  std::string out;
  for (const auto& p : model_presets()) out += (out.empty() ? "" : ", ") + p.shape.name;
  return out;
}

}  // namespace citadel
