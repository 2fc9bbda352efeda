// Model shapes read from files: a GGUF file (hyper-parameters from metadata, exact tensor bytes),
// or a Hugging Face folder (config.json, plus the safetensors headers when present) or a bare
// config.json. Only headers are read: planning a 140 GB model reads a few kilobytes.
#pragma once
#include <string>

#include "engine/capacity_plan_model.h"

namespace citadel {

ModelShape model_shape_from_gguf(const std::string& path);
// `path` is a folder holding config.json (and maybe *.safetensors) or a config.json file.
ModelShape model_shape_from_hf(const std::string& path);
// Folder or *.json -> Hugging Face, anything else -> GGUF. Throws std::runtime_error naming the
// file and what is wrong (missing, unreadable, not a model).
ModelShape load_model_shape(const std::string& path);

}  // namespace citadel
