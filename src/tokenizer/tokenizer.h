// Text <-> token ids. One interface over the tokenizer families of GGUF / Hugging Face files:
// SentencePiece-style ("llama": scores, byte fallback) and byte-level BPE ("gpt2": merges and a
// pre-tokenizer regex). Text from users never becomes control tokens unless parse_special is set.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace citadel {

class GgufFile;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // From the tokenizer.ggml.* metadata of a GGUF file (a vocabulary-only GGUF is fine).
  // Throws std::runtime_error naming what is missing or unsupported.
  static std::unique_ptr<Tokenizer> from_gguf(const GgufFile& gguf);
  // From a Hugging Face tokenizer.json; tokenizer_config.json (may be "") supplies BOS/EOS rules.
  // A malformed file or an unsupported model type throws std::runtime_error saying so.
  static std::unique_ptr<Tokenizer> from_hf_files(const std::string& tokenizer_json_path,
                                                  const std::string& tokenizer_config_path = "");

  // add_bos: add the special tokens the vocabulary asks for (BOS if add_bos_token, EOS if
  //   add_eos_token); BOS is never doubled when parse_special finds one at the start of `text`.
  // parse_special: recognise control-token texts like "<|im_end|>" in `text` (templates only).
  //   User-defined added tokens (e.g. Qwen's "<think>") are recognised either way, as in HF.
  // Any bytes are accepted: invalid UTF-8 becomes byte tokens (a byte the vocabulary cannot spell
  // at all, like 0xFF in Falcon's, is dropped, as Hugging Face does). A tokenizer.json NFC
  // normalizer (Qwen) is applied first.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special = false) const = 0;
  // The bytes a token stands for (may be part of a UTF-8 character; control tokens give their text).
  virtual std::string token_to_piece(int32_t id) const = 0;
  // The text of `ids`. Control tokens (BOS, EOS, <|im_start|>, ...) are left out unless
  // render_special; the space SentencePiece puts before the text is removed, so that
  // decode(encode(t, false)) == t (for NFC text where the vocabulary normalizes).
  std::string decode(const std::vector<int32_t>& ids, bool render_special = false) const;

  virtual int32_t n_vocab() const = 0;
  virtual int32_t bos_id() const = 0;  // -1 if none
  virtual int32_t eos_id() const = 0;  // -1 if none
  virtual bool is_end_of_generation(int32_t id) const = 0;  // EOS, EOT, <|im_end|>, ...
  virtual std::vector<int32_t> end_of_generation_ids() const = 0;
  virtual bool is_control(int32_t id) const = 0;
  virtual bool adds_bos() const = 0;
  // True when encode puts a space before the text at the start of the input (SentencePiece);
  // decode removes it again. A streaming caller strips it from the first piece itself.
  virtual bool adds_space_prefix() const = 0;
  virtual std::string model_name() const = 0;  // "llama" (SPM) or "gpt2" (BPE)
  virtual std::string pre_tokenizer_name() const = 0;  // "llama3", "qwen2", "tokenizer.json", ...
  virtual int32_t token_id(std::string_view token_text) const = 0;  // -1 if no token has that text
  virtual std::string token_text(int32_t id) const = 0;            // as stored in the vocabulary

 protected:
  // Control and user-defined tokens: text runs start after them (SentencePiece's space rule).
  virtual bool is_special(int32_t id) const { return is_control(id); }
  // Whether the space of adds_space_prefix() is also put after special tokens, not only at the start.
  virtual bool adds_space_prefix_after_special() const { return adds_space_prefix(); }
};

// Turns a stream of token pieces into valid UTF-8 text: holds back an incomplete character
// until the bytes that finish it arrive.
class Utf8StreamDecoder {
 public:
  std::string push(const std::string& piece);  // complete characters so far (bad bytes as U+FFFD)
  std::string flush();                          // whatever is left (invalid bytes as U+FFFD)

 private:
  std::string pending_;
};

}  // namespace citadel
