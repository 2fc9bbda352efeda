// What the SPM and BPE tokenizers share: the vocabulary, special-token cutting, BOS/EOS rules and the
// pieces of non-normal tokens. A family only says how it encodes a run of plain text and how a
// normal token's text turns back into bytes.
#pragma once
#include "tokenizer/special_tokens.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace citadel {

class VocabTokenizer : public Tokenizer {
 public:
  VocabTokenizer(Vocab vocab, std::string model_name, std::string pre_name);
  VocabTokenizer(const VocabTokenizer&) = delete;  // specials_ points into vocab_
  VocabTokenizer& operator=(const VocabTokenizer&) = delete;

  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special = false) const final;
  std::string token_to_piece(int32_t id) const final;
  int32_t n_vocab() const final { return vocab_.size(); }
  int32_t bos_id() const final { return vocab_.bos; }
  int32_t eos_id() const final { return vocab_.eos; }
  bool is_end_of_generation(int32_t id) const final { return vocab_.is_end_of_generation(id); }
  std::vector<int32_t> end_of_generation_ids() const final { return vocab_.end_of_generation(); }
  bool is_control(int32_t id) const final;
  bool adds_bos() const final { return vocab_.add_bos && vocab_.bos >= 0; }
  std::string model_name() const final { return model_name_; }
  std::string pre_tokenizer_name() const final { return pre_name_; }
  int32_t token_id(std::string_view text) const final { return vocab_.find(text); }
  std::string token_text(int32_t id) const final { return vocab_.contains(id) ? vocab_.at(id).text : ""; }

 protected:
  // Appends the ids of one run of plain text. A run starts the input or follows a special token
  // (SentencePiece puts its leading space there); `at_input_start` tells which.
  virtual void encode_text(std::string_view text, bool at_input_start, std::vector<int32_t>& out) const = 0;
  // The bytes of a normal token.
  virtual std::string normal_piece(const std::string& token_text) const = 0;
  bool is_special(int32_t id) const override;
  const Vocab& vocab() const { return vocab_; }

 private:
  Vocab vocab_;
  SpecialTokenSplitter specials_;  // refers to vocab_
  std::string model_name_;
  std::string pre_name_;
};

}  // namespace citadel
