// A vocabulary: token texts, scores and types by id, the reverse index, and which tokens are special
// (BOS / EOS / end-of-generation). Filled from GGUF tokenizer.ggml.* metadata or from tokenizer.json.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace citadel {

// Numbering of GGUF's tokenizer.ggml.token_type.
enum class TokenType : int32_t {
  kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6,
};

struct TokenInfo {
  std::string text;
  float score = 0;  // SentencePiece log-probability (higher merges first)
  TokenType type = TokenType::kNormal;
  bool lstrip = false;  // an added token that swallows the whitespace on its left
  bool rstrip = false;  // ... on its right
};

class Vocab {
 public:
  // Sets token `id`, growing the table with unused placeholders as needed.
  void set(int32_t id, TokenInfo info);
  void push(TokenInfo info) { set(size(), std::move(info)); }

  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }
  bool contains(int32_t id) const { return id >= 0 && id < size(); }
  const TokenInfo& at(int32_t id) const { return tokens_.at(static_cast<size_t>(id)); }
  TokenType type(int32_t id) const { return contains(id) ? tokens_[id].type : TokenType::kUndefined; }
  // Id of the token spelled `text`, or -1.
  int32_t find(std::string_view text) const;
  // Like find, but only tokens that plain text may turn into (normal, byte, user-defined, unused).
  int32_t find_text_token(std::string_view text) const;
  // The "<0xXX>" byte-fallback token of a byte, or -1.
  int32_t byte_token(uint8_t byte) const;

  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, pad = -1;
  bool add_bos = false;
  bool add_eos = false;

  // Marks EOS/EOT/EOM and the well-known end-of-turn texts as ends of generation; call once filled.
  void finish();
  bool is_end_of_generation(int32_t id) const;
  const std::vector<int32_t>& end_of_generation() const { return end_of_generation_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<TokenInfo> tokens_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> index_;
  std::vector<int32_t> end_of_generation_;  // sorted
};

// A special id from metadata that may be absent or out of range ("-1" or 4294967295): -1 then.
int32_t checked_token_id(int64_t id, const Vocab& vocab);

}  // namespace citadel
