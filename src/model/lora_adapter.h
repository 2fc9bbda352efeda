// A LoRA adapter: low-rank updates W + scale * B A of a base model's attention and FFN
// projections, in llama.cpp's GGUF layout, so adapters move between Citadel and llama.cpp:
//   general.type = "adapter", adapter.type = "lora", adapter.lora.alpha (f32),
//   general.architecture = the base's;
//   "<base tensor>.lora_a": ne = [in, rank]   (rank rows of `in` values)
//   "<base tensor>.lora_b": ne = [rank, out]  (`out` rows of rank values)
// The effective scale of a pair is user_scale * alpha / rank (user_scale when alpha is 0), as
// llama.cpp's. Loaded adapters are immutable and shared (engine requests hold them alive).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace citadel {

class Model;
struct LayerWeights;
struct Tensor;

enum class LoraTarget : uint8_t { Q, K, V, O, Gate, Up, Down };
constexpr int kLoraTargetCount = 7;
// The tensor suffix a target adapts ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", ...).
const char* lora_target_name(LoraTarget t);
// The base matrix of a layer that `t` adapts (not present on a fused-QKV model).
const Tensor& lora_base_weight(const LayerWeights& l, LoraTarget t);

// One adapted matrix: delta W (out x in) = B A.
struct LoraPair {
  int64_t rank = 0, in = 0, out = 0;
  std::vector<float> a;  // rank rows of `in` values
  std::vector<float> b;  // `out` rows of rank values
  bool present() const { return rank > 0; }
};

class LoraAdapter {
 public:
  LoraAdapter();  // empty; gets a process-unique id()

  float alpha = 0;
  std::string arch;  // the base's general.architecture
  std::vector<std::array<LoraPair, kLoraTargetCount>> layers;

  // Unique per adapter object in this process: keys cached KV blocks (the same prompt gives other
  // K/V under another adapter), so a reloaded file never meets stale entries.
  uint64_t id() const { return id_; }
  const LoraPair* get(int il, LoraTarget t) const {
    const LoraPair& p = layers[il][static_cast<int>(t)];
    return p.present() ? &p : nullptr;
  }
  float scale(const LoraPair& p) const { return alpha != 0 ? alpha / static_cast<float>(p.rank) : 1.0f; }
  int64_t parameter_count() const;

  // Throws FormatError naming the first layer / target / shape that does not fit `base`.
  void check_fits(const Model& base) const;
  // Reads `path` and checks it against `base`: FormatError (bad file, or a file made for
  // another model: architecture, layer count or shapes differ) or std::runtime_error (I/O).
  // Tensors may be F32, F16, BF16 or Q8_0 (what llama.cpp's converter writes); norm-vector
  // deltas are skipped, as llama.cpp does.
  static std::shared_ptr<LoraAdapter> load(const std::string& path, const Model& base);
  // Writes F32 tensors (only the present pairs). Throws on I/O errors.
  void write(const std::string& path, const std::string& name = "") const;

 private:
  uint64_t id_;
};

// One adapter at a user scale; a stack of them applies to a sequence (llama.cpp's --lora).
struct LoraRef {
  std::shared_ptr<const LoraAdapter> adapter;
  float scale = 1.0f;
};
struct LoraStack {
  std::vector<LoraRef> refs;
  uint64_t fingerprint = 0;  // of the adapters' values and scales, once seal() ran (0: not sealed)

  bool empty() const { return refs.empty(); }
  // Hashes the adapters' values and scales into `fingerprint` (once, when the stack is made: it
  // reads every value). Two stacks of equal content get equal fingerprints in any process.
  void seal();
  // What keys cached KV and answers per adapter set: 0 for an empty stack, the fingerprint once
  // sealed, else the adapters' process-unique ids.
  uint64_t cache_key() const;
};

// "FILE" or "FILE:SCALE" (scale a float) -> (file, scale). Throws std::invalid_argument.
std::pair<std::string, float> parse_lora_arg(const std::string& arg);
// Loads every "FILE[:SCALE]" of a --lora list against `base` (the stack's refs in order), sealed.
LoraStack load_lora_stack(const std::vector<std::string>& args, const Model& base);

}  // namespace citadel
