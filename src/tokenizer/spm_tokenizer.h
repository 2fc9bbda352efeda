// SentencePiece-style tokenizer (GGUF tokenizer.ggml.model = "llama"): spaces become "▁", a space
// is put before the text, and neighbouring pieces merge greedily by token score; characters no token
// covers fall back to "<0xXX>" byte tokens (or <unk>).
#pragma once
#include "tokenizer/vocab_tokenizer.h"

namespace citadel {

class SpmTokenizer final : public VocabTokenizer {
 public:
  SpmTokenizer(Vocab vocab, bool add_space_prefix);
  bool adds_space_prefix() const override { return add_space_prefix_; }

 private:
  void encode_text(std::string_view text, bool at_input_start, std::vector<int32_t>& out) const override;
  std::string normal_piece(const std::string& token_text) const override;
  void append_bytes(std::string_view bytes, std::vector<int32_t>& out) const;

  bool add_space_prefix_;
};

}  // namespace citadel
