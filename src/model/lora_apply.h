// Applies the LoRA adapters of a batch's rows after a base projection: the base matmul is shared
// by every row, then each group of rows with the same adapters gets y += scale * B (A x) of each
// of its adapters (rows of the base model get nothing). As S-LoRA / punica batch many adapters.
#pragma once
#include <cstdint>

#include "core/thread_pool.h"
#include "model/batch.h"
#include "model/lora_adapter.h"

namespace citadel {

// x: batch.size() rows of `in` floats (the projection's input); y: rows of `out` floats (its
// output, added to). A no-op when no row of the batch has adapters.
void apply_lora(const Batch& batch, int il, LoraTarget target, const float* x, int64_t in, float* y, int64_t out,
                ThreadPool& pool);

// y (n x out) += scale * B (A x) for one pair over n contiguous rows (also training's forward).
// `u` gets the n x rank intermediate A x when not null.
void lora_forward(const LoraPair& p, float scale, const float* x, int64_t n, float* y, ThreadPool& pool,
                  float* u = nullptr);

}  // namespace citadel
