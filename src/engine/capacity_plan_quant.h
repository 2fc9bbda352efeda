// Weight formats a plan can assume: one tensor type for every matrix ("f16", "q8_0", "q4_0", ...)
// or a llama.cpp-style mix ("q4_k_m", "q5_k_m"). Bytes per weight come from the block layouts in
// core/tensor_type.h (block bytes / block size), so they match real GGUF files.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor_type.h"
#include "engine/capacity_plan_model.h"

namespace citadel {

struct QuantScheme {
  std::string name;           // as given: "q4_k_m"
  TensorType base = TensorType::F16;
  bool k_mix = false;         // *_K_M: some attn_v / ffn_down layers and attn_qkv get more bits
};

// "f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m", ... ; throws std::invalid_argument listing the valid ones.
QuantScheme parse_quant(const std::string& name);
std::string quant_names();
// The type the scheme gives one tensor of a model with `n_layers` blocks.
TensorType tensor_type_for(const QuantScheme& q, const WeightTensor& t, int64_t n_layers);
// Bytes of `n` values of `type` (fractional blocks rounded up).
uint64_t type_bytes(TensorType type, int64_t n);
// Bytes of all weights under the scheme.
uint64_t quantized_weight_bytes(const QuantScheme& q, const std::vector<WeightTensor>& tensors, int64_t n_layers);

}  // namespace citadel
