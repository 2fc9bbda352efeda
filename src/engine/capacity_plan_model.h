// What of a model decides its memory and speed: hyper-parameters plus the list of weight tensors
// (element counts by role). Presets and config.json give hyper-parameters and the tensors are
// derived from them; a GGUF or safetensors file gives the exact tensors.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace citadel {

// Roles decide how a quantization mix treats a tensor (llama.cpp's Q4_K_M keeps output and some
// attn_v / ffn_down in Q6_K). 1-D tensors (norms, biases) stay F32 whatever the mix.
enum class WeightRole { TokenEmbedding, Output, AttnQ, AttnK, AttnV, AttnQkv, AttnOutput, FfnGate, FfnUp, FfnDown, Vector, Other };

struct WeightTensor {
  WeightRole role = WeightRole::Other;
  int layer = -1;          // block index, -1 outside the blocks
  int64_t n_elements = 0;
  uint64_t stored_bytes = 0;  // bytes in the file it came from; 0 when derived from hyper-parameters
};

struct ModelShape {
  std::string name;          // "llama-2-7b", or the file name
  std::string architecture;  // "llama", "qwen", "qwen2", "falcon", ...
  std::string source;        // "preset", "gguf", "config.json"
  int64_t n_layers = 0;
  int64_t d_model = 0;       // embedding length
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;    // < n_heads: grouped-query attention; 1: multi-query
  int64_t head_dim = 0;      // key/value length per head
  int64_t ffn_dim = 0;       // width of one FFN branch
  int64_t vocab = 0;
  int64_t context_length = 0;  // trained context
  bool gated_ffn = true;        // SwiGLU (gate, up, down); Falcon's GELU MLP has up and down only
  bool tied_embeddings = false; // output projection shares the token embedding
  bool qkv_bias = false;        // Qwen's attention projections carry biases
  bool fused_qkv = false;       // Falcon stores one attn_qkv matrix
  std::string stored_type;      // type of the file's weights ("f16", "q8_0", "mixed"); "" for presets
  uint64_t file_bytes = 0;      // size of the model file(s) on disk; 0 when not read from files
  std::vector<WeightTensor> tensors;  // empty: derive with derive_tensors()
};

// The weight tensors a model of this shape has (standard decoder block; see the .cpp for the list).
std::vector<WeightTensor> derive_tensors(const ModelShape& shape);
// shape.tensors, or the derived ones when it has none.
std::vector<WeightTensor> weight_tensors(const ModelShape& shape);
int64_t parameter_count(const std::vector<WeightTensor>& tensors);
// Role of a GGUF tensor name ("blk.3.attn_v.weight" -> AttnV, layer 3) or a Hugging Face one
// ("model.layers.3.self_attn.v_proj.weight"); 1-D tensors are Vector whatever their name.
WeightTensor classify_tensor(const std::string& name, const std::vector<int64_t>& shape);
// Throws std::invalid_argument naming the first hyper-parameter that is missing or inconsistent.
void validate_shape(const ModelShape& shape);

}  // namespace citadel
