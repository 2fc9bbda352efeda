// Byte-pair-encoding tokenizer (GGUF tokenizer.ggml.model = "gpt2", tokenizer.json "BPE"): the
// pre-tokenizer cuts the text into words, and inside each word neighbouring symbols merge in the
// order of the merge list. Byte-level vocabularies spell bytes with GPT-2's alphabet; the others
// (SentencePiece converted to BPE) spell spaces as "▁" and fall back to "<0xXX>" byte tokens.
#pragma once
#include <unordered_map>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/vocab_tokenizer.h"

namespace citadel {

// Whether a space goes before a run of text (runs start the input or follow a special token).
enum class PrefixSpace {
  kNever,
  kIfMissing,  // every run not starting with a space (ByteLevel add_prefix_space)
  kFirst,      // the run that starts the input only (Metaspace prepend_scheme "first")
  kAlways,     // every run (SentencePiece, Prepend normalizer)
};

struct BpeOptions {
  std::vector<std::pair<std::string, std::string>> merges;  // highest priority first
  PreTokenizer pre_tokenizer;
  std::string pre_name;              // for display
  bool byte_level = true;            // GPT-2 byte alphabet; false: raw UTF-8
  bool spaces_as_metaspace = false;  // spell ' ' as "▁" before merging (SentencePiece-style)
  bool ignore_merges = false;        // a word that is a whole token is taken as is
  bool nfc = false;                  // Unicode NFC first (tokenizer.json "NFC" normalizer)
  PrefixSpace prefix_space = PrefixSpace::kNever;
};

class BpeTokenizer final : public VocabTokenizer {
 public:
  BpeTokenizer(Vocab vocab, BpeOptions options);
  bool adds_space_prefix() const override {
    return prefix_space_ == PrefixSpace::kAlways || prefix_space_ == PrefixSpace::kFirst;
  }

 private:
  void encode_text(std::string_view text, bool at_input_start, std::vector<int32_t>& out) const override;
  std::string normal_piece(const std::string& token_text) const override;
  bool adds_space_prefix_after_special() const override { return prefix_space_ == PrefixSpace::kAlways; }
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;
  void append_unknown(std::string_view symbol, std::vector<int32_t>& out) const;

  struct Merge {
    int32_t rank;
    int32_t result;
  };
  std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> merge
  PreTokenizer pre_tokenizer_;
  bool byte_level_;
  bool spaces_as_metaspace_;
  bool nfc_;
  bool ignore_merges_;
  PrefixSpace prefix_space_;
};

}  // namespace citadel
