// A batch of tokens to run through the model at once: each has a position in its sequence and
// may ask for logits. Tokens of several sequences can share one batch (continuous batching),
// each with its own LoRA adapters (null: the base model), applied to its rows only.
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

  void add(int32_t token, int32_t pos, int32_t seq, bool logits, const LoraStack* adapters = nullptr) {
    tokens.push_back(token);
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
  void clear() { tokens.clear(); positions.clear(); seq_ids.clear(); want_logits.clear(); lora.clear(); }
};

}  // namespace citadel
