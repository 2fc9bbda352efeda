// The Llama family's tensors and forward pass, shared with the architectures derived from it (Qwen).
#pragma once
#include "model/architecture.h"

namespace citadel {

// Binds Llama's tensors; optional extras (QKV biases, QK norms, rope_freqs, untied output) when present.
void bind_llama_family(const TensorMap& t, const HParams& hp, Weights& w);
void llama_forward(const Model& m, const Batch& batch, KvCache& kv, ThreadPool& pool, float* logits, float* hidden);

}  // namespace citadel
