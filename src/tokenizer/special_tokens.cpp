#include "tokenizer/special_tokens.h"

#include <cctype>

namespace citadel {

static bool is_special_type(TokenType t) {
  return t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown;
}

SpecialTokenSplitter::SpecialTokenSplitter(const Vocab& vocab) : vocab_(vocab) {
  trie_.emplace_back();
  for (int32_t id = 0; id < vocab.size(); ++id) {
    const TokenInfo& t = vocab.at(id);
    if (!is_special_type(t.type) || t.text.empty()) continue;
    int32_t node = 0;
    for (char c : t.text) {
      int32_t next = child(node, c);
      if (next < 0) {
        next = static_cast<int32_t>(trie_.size());
        trie_[node].children.emplace_back(c, next);
        trie_.emplace_back();
      }
      node = next;
    }
    if (trie_[node].token < 0) trie_[node].token = id;
    first_byte_[static_cast<uint8_t>(t.text[0])] = true;
  }
}

int32_t SpecialTokenSplitter::child(int32_t node, char c) const {
  for (const auto& [byte, next] : trie_[node].children)
    if (byte == c) return next;
  return -1;
}

std::pair<int32_t, size_t> SpecialTokenSplitter::match_at(std::string_view text, size_t pos,
                                                          bool parse_special) const {
  std::pair<int32_t, size_t> best{-1, 0};
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    node = child(node, text[i]);
    if (node < 0) break;
    const int32_t token = trie_[node].token;
    if (token >= 0 && (parse_special || vocab_.type(token) == TokenType::kUserDefined))
      best = {token, i + 1 - pos};
  }
  return best;
}

std::vector<TextFragment> SpecialTokenSplitter::split(std::string_view text, bool parse_special) const {
  std::vector<TextFragment> out;
  size_t text_start = 0;  // start of the pending plain text
  size_t pos = 0;
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (pos < text.size()) {
    if (!first_byte_[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    const auto [token, length] = match_at(text, pos, parse_special);
    if (token < 0) {
      ++pos;
      continue;
    }
    size_t text_end = pos;
    if (vocab_.at(token).lstrip)
      while (text_end > text_start && is_space(text[text_end - 1])) --text_end;
    if (text_end > text_start) out.push_back({text.substr(text_start, text_end - text_start), -1});
    out.push_back({{}, token});
    pos += length;
    if (vocab_.at(token).rstrip)
      while (pos < text.size() && is_space(text[pos])) ++pos;
    text_start = pos;
  }
  if (text_start < text.size()) out.push_back({text.substr(text_start), -1});
  return out;
}

}  // namespace citadel
