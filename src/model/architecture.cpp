#include "model/architecture.h"

namespace citadel {
namespace {
const Architecture* const kAll[] = {&kLlamaArchitecture, &kQwen2Architecture, &kQwen3Architecture,
                                    &kFalconArchitecture};
}

const Architecture* find_architecture(const std::string& name) {
  for (const Architecture* a : kAll)
    if (name == a->name) return a;
  return nullptr;
}

std::vector<std::string> supported_architectures() {
  std::vector<std::string> names;
  for (const Architecture* a : kAll) names.push_back(a->name);
  return names;
}

}  // namespace citadel
