#include "engine/capacity_plan_quant.h"

#include <cctype>
#include <stdexcept>

namespace citadel {
namespace {

// Types a user may plan with; the K-quant "_m" mixes are handled apart.
constexpr const char* kPlain[] = {"f32", "f16", "bf16", "q8_0", "q6_k", "q5_k", "q5_0", "q5_1", "q4_k", "q4_0", "q4_1", "q3_k", "q2_k"};

// llama.cpp's use_more_bits(): the first and last eighth of the blocks, and every third between.
bool use_more_bits(int layer, int64_t n_layers) {
  if (layer < 0) return false;
  const int64_t i = layer;
  return i < n_layers / 8 || i >= 7 * n_layers / 8 || (i - n_layers / 8) % 3 == 2;
}

bool is_quantized(TensorType t) { return type_traits(t).block_size > 1; }

}  // namespace

QuantScheme parse_quant(const std::string& name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "q4_k_m") return {lower, TensorType::Q4_K, true};
  if (lower == "q5_k_m") return {lower, TensorType::Q5_K, true};
  if (lower == "q4_k_s") lower = "q4_k";
  if (lower == "q5_k_s") lower = "q5_k";
  for (const char* p : kPlain)
    if (lower == p) return {lower, parse_type_name(lower), false};
  throw std::invalid_argument("unknown quantization '" + name + "' (known: " + quant_names() + ")");
}

std::string quant_names() {
  std::string out = "q4_k_m, q5_k_m";
  for (const char* p : kPlain) out += std::string(", ") + p;
  return out;
}

TensorType tensor_type_for(const QuantScheme& q, const WeightTensor& t, int64_t n_layers) {
  if (t.role == WeightRole::Vector) return TensorType::F32;  // norms and biases are never quantized
  if (!is_quantized(q.base)) return q.base;
  // As llama.cpp's quantizer: the output projection is kept in Q6_K unless the whole file is Q8_0.
  if (t.role == WeightRole::Output) return q.base == TensorType::Q8_0 ? TensorType::Q8_0 : TensorType::Q6_K;
  if (q.k_mix) {
    if ((t.role == WeightRole::AttnV || t.role == WeightRole::FfnDown) && use_more_bits(t.layer, n_layers))
      return TensorType::Q6_K;
    if (t.role == WeightRole::AttnQkv) return q.base == TensorType::Q4_K ? TensorType::Q5_K : TensorType::Q6_K;
  }
  return q.base;
}

uint64_t type_bytes(TensorType type, int64_t n) {
  const TypeTraits& tr = type_traits(type);
  const uint64_t blocks = static_cast<uint64_t>((n + tr.block_size - 1) / tr.block_size);
  return blocks * tr.block_bytes;
}

uint64_t quantized_weight_bytes(const QuantScheme& q, const std::vector<WeightTensor>& tensors, int64_t n_layers) {
  uint64_t bytes = 0;
  for (const auto& t : tensors) bytes += type_bytes(tensor_type_for(q, t, n_layers), t.n_elements);
  return bytes;
}

}  // namespace citadel
