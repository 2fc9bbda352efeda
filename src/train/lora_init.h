// A fresh LoRA adapter for a base model: rank-r pairs on the chosen projections of every layer,
// A uniform in +-1/sqrt(in) (PEFT's Kaiming-uniform init) and B zero, so training starts from
// exactly the base model.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/lora_adapter.h"

namespace citadel {

class Model;

// "q,k,v,o,gate,up,down" (or "all", "attn", "ffn") -> targets. Throws std::invalid_argument.
std::vector<LoraTarget> parse_lora_targets(const std::string& list);

std::shared_ptr<LoraAdapter> init_lora_adapter(const Model& base, int64_t rank, float alpha,
                                               const std::vector<LoraTarget>& targets, uint64_t seed);

}  // namespace citadel
