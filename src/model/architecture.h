// The architectures Citadel runs. Each lives in one file (llama.cpp, qwen.cpp, falcon.cpp) that
// names its tensors and spells out its forward pass over the shared blocks of transformer.h.
#pragma once
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/batch.h"
#include "model/hparams.h"
#include "model/kv_cache.h"
#include "model/weights.h"

namespace citadel {

class Model;

struct Architecture {
  const char* name;  // general.architecture
  // Binds the tensors from `tensors` into `w` (shape-checked), throwing FormatError if one is missing.
  void (*bind)(const TensorMap& tensors, const HParams& hp, Weights& w);
  void (*forward)(const Model& m, const Batch& batch, KvCache& kv, ThreadPool& pool, float* logits, float* hidden);
};

// nullptr when the architecture is not supported.
const Architecture* find_architecture(const std::string& name);
std::vector<std::string> supported_architectures();

// Defined in the per-architecture files.
extern const Architecture kLlamaArchitecture;
extern const Architecture kQwen2Architecture;
extern const Architecture kQwen3Architecture;
extern const Architecture kFalconArchitecture;

}  // namespace citadel
