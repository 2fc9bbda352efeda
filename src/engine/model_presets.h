// Published hyper-parameters of well-known open models, so that `citadel plan --preset NAME` can
// size a deployment before anything is downloaded. Values are those of each model's config.json.
#pragma once
#include <string>
#include <vector>

#include "engine/capacity_plan_model.h"

namespace citadel {

struct ModelPreset {
  ModelShape shape;         // shape.name is the preset name
  std::string description;  // "Llama 2 7B (Meta, 2023), 6.7B parameters"
};

const std::vector<ModelPreset>& model_presets();
// The preset called `name` (case-insensitive); throws std::invalid_argument listing the known ones.
const ModelShape& find_preset(const std::string& name);
std::string preset_names();

}  // namespace citadel
