// A batch of tokens to run through the model at once: each has a position in its sequence and
// may ask for logits. Tokens of several sequences can share one batch (continuous batching),
// each with its own LoRA adapters (null: the base model), applied to its rows only. A row may carry
// an embedding instead of a token (an image's rows from a vision projector): its token is then a
// placeholder id (negative) and the model reads the n_embd floats at `embd` instead.
#pragma once
#include <cstdint>
#include <vector>

namespace citadel {

struct LoraStack;  // model/lora_adapter.h

struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> positions;
  std::vector<int32_t> seq_ids;
  std::vector<uint8_t> want_logits;
  std::vector<const LoraStack*> lora;  // per token; must outlive the forward pass
  std::vector<const float*> embd;      // per token: null, or n_embd floats that outlive the pass

  void add(int32_t token, int32_t pos, int32_t seq, bool logits, const LoraStack* adapters = nullptr,
           const float* embedding = nullptr) {
    tokens.push_back(token);
    embd.push_back(embedding);
    positions.push_back(pos);
    seq_ids.push_back(seq);
    want_logits.push_back(logits ? 1 : 0);
    lora.push_back(adapters);
  }
  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
  int64_t n_outputs() const {
    int64_t n = 0;
    for (uint8_t w : want_logits) n += w;
    return n;
  }
  void clear() { tokens.clear(); positions.clear(); seq_ids.clear(); want_logits.clear(); lora.clear(); embd.clear(); }
};

}  // namespace citadel
