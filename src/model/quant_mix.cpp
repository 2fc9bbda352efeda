#include "model/quant_mix.h"

#include <stdexcept>

namespace citadel {
namespace {

struct Known {
  const char* name;
  TensorType base;
  int ftype;  // llama_ftype
};
constexpr Known kKnown[] = {
    {"f32", TensorType::F32, 0},     {"f16", TensorType::F16, 1},     {"q4_0", TensorType::Q4_0, 2},
    {"q4_1", TensorType::Q4_1, 3},   {"q8_0", TensorType::Q8_0, 7},   {"q5_0", TensorType::Q5_0, 8},
    {"q5_1", TensorType::Q5_1, 9},   {"q4_k_m", TensorType::Q4_K, 15}, {"q5_k_m", TensorType::Q5_K, 17},
    {"q6_k", TensorType::Q6_K, 18},  {"bf16", TensorType::BF16, 32},
};

int layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  return std::stoi(name.substr(4));
}

// llama.cpp's use_more_bits: the first and last eighth of the layers, and every third between.
bool use_more_bits(int layer, int n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

FileType parse_file_type(const std::string& name) {
  std::string names;
  for (const Known& k : kKnown) {
    if (name == k.name) return {k.name, k.base};
    names += std::string(names.empty() ? "" : ", ") + k.name;
  }
  throw std::invalid_argument("unknown type '" + name + "' (accepted: " + names + ")");
}

int gguf_file_type_id(const FileType& ft) {
  for (const Known& k : kKnown)
    if (ft.name == k.name) return k.ftype;
  return 0;
}

TensorType choose_tensor_type(const FileType& ft, const std::string& name, int64_t cols, int n_dims, int n_layer) {
  if (n_dims < 2) return TensorType::F32;
  TensorType t = ft.base;
  const bool k_mix = ft.name == "q4_k_m" || ft.name == "q5_k_m";
  if (k_mix) {
    const int layer = layer_of(name);
    if (name == "output.weight") t = TensorType::Q6_K;
    else if ((ends_with(name, "attn_v.weight") || ends_with(name, "ffn_down.weight")) && layer >= 0 &&
             use_more_bits(layer, n_layer))
      t = TensorType::Q6_K;
  }
  // Rows that do not fill whole 256-value K blocks fall back as llama.cpp does; rows that do not
  // fill 32-value blocks either are kept in f16.
  if (cols % type_traits(t).block_size != 0) {
    if (t == TensorType::Q4_K) t = TensorType::Q5_0;
    else if (t == TensorType::Q5_K) t = TensorType::Q5_1;
    else if (t == TensorType::Q6_K) t = TensorType::Q8_0;
  }
  if (cols % type_traits(t).block_size == 0) return t;
  return TensorType::F16;
}

}  // namespace citadel
