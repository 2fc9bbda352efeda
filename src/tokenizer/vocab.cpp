#include "tokenizer/vocab.h"

#include <algorithm>
#include <cstdio>

namespace citadel {

void Vocab::set(int32_t id, TokenInfo info) {
  if (id < 0) return;
  if (id >= size()) tokens_.resize(static_cast<size_t>(id) + 1, TokenInfo{"", 0, TokenType::kUnused});
  auto& slot = tokens_[id];
  if (!slot.text.empty()) {
    const auto it = index_.find(slot.text);
    if (it != index_.end() && it->second == id) index_.erase(it);
  }
  slot = std::move(info);
  // The first id wins for a duplicated text (tokenizer.json lists added tokens twice at times).
  if (!slot.text.empty()) index_.try_emplace(slot.text, id);
}

int32_t Vocab::find(std::string_view text) const {
  const auto it = index_.find(text);
  return it == index_.end() ? -1 : it->second;
}

int32_t Vocab::find_text_token(std::string_view text) const {
  const int32_t id = find(text);
  if (id < 0) return -1;
  const TokenType t = tokens_[id].type;
  return (t == TokenType::kControl || t == TokenType::kUnknown) ? -1 : id;
}

int32_t Vocab::byte_token(uint8_t byte) const {
  char buf[8];
  std::snprintf(buf, sizeof buf, "<0x%02X>", byte);
  return find(buf);
}

void Vocab::finish() {
  // Chat models end a turn with tokens the metadata does not always name (llama.cpp does the same).
  static const std::vector<std::string_view> kEndTexts = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
      "<|end_of_text|>", "<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
  };
  end_of_generation_.clear();
  for (int32_t id : {eos, eot, eom})
    if (contains(id)) end_of_generation_.push_back(id);
  for (auto text : kEndTexts) {
    const int32_t id = find(text);
    if (id >= 0 && tokens_[id].type != TokenType::kNormal) end_of_generation_.push_back(id);
  }
  std::sort(end_of_generation_.begin(), end_of_generation_.end());
  end_of_generation_.erase(std::unique(end_of_generation_.begin(), end_of_generation_.end()),
                           end_of_generation_.end());
}

bool Vocab::is_end_of_generation(int32_t id) const {
  return std::binary_search(end_of_generation_.begin(), end_of_generation_.end(), id);
}

int32_t checked_token_id(int64_t id, const Vocab& vocab) {
  return (id >= 0 && id < vocab.size()) ? static_cast<int32_t>(id) : -1;
}

}  // namespace citadel
