#include "tokenizer/vocab_tokenizer.h"

#include <cstdlib>

namespace citadel {

VocabTokenizer::VocabTokenizer(Vocab vocab, std::string model_name, std::string pre_name)
    : vocab_(std::move(vocab)), specials_(vocab_), model_name_(std::move(model_name)), pre_name_(std::move(pre_name)) {}

std::vector<int32_t> VocabTokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  std::vector<int32_t> out;
  if (add_bos && adds_bos()) out.push_back(vocab_.bos);
  const bool bos_added = !out.empty();
  const std::vector<TextFragment> fragments = specials_.split(text, parse_special);
  for (size_t i = 0; i < fragments.size(); ++i) {
    const TextFragment& f = fragments[i];
    if (f.token >= 0) {
      // A template that already starts with BOS must not get a second one.
      if (!(i == 0 && bos_added && f.token == vocab_.bos)) out.push_back(f.token);
    } else {
      encode_text(f.text, i == 0, out);
    }
  }
  if (add_bos && vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
  return out;
}

std::string VocabTokenizer::token_to_piece(int32_t id) const {
  if (!vocab_.contains(id)) return "";
  const TokenInfo& t = vocab_.at(id);
  switch (t.type) {
    case TokenType::kNormal:
    case TokenType::kUndefined:
      return normal_piece(t.text);
    case TokenType::kByte:
      if (t.text.size() == 6 && t.text.compare(0, 3, "<0x") == 0)
        return std::string(1, static_cast<char>(std::strtol(t.text.substr(3, 2).c_str(), nullptr, 16)));
      return normal_piece(t.text);
    default:  // control, user-defined, unknown, unused: their text as written
      return t.text;
  }
}

bool VocabTokenizer::is_control(int32_t id) const {
  const TokenType t = vocab_.type(id);
  return t == TokenType::kControl || t == TokenType::kUnknown;
}

bool VocabTokenizer::is_special(int32_t id) const {
  return is_control(id) || vocab_.type(id) == TokenType::kUserDefined;
}

}  // namespace citadel
