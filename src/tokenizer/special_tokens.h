// Cuts text at the special tokens it spells, before any tokenizer algorithm sees it. Control tokens
// ("<|im_end|>", "<s>") are cut only when parse_special is set, so text typed by a user never becomes
// a control token; user-defined (added, non-special) tokens are always cut, as Hugging Face does.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace citadel {

struct TextFragment {
  std::string_view text;  // plain text (when token < 0)
  int32_t token = -1;     // a special token found in the input
};

class SpecialTokenSplitter {
 public:
  explicit SpecialTokenSplitter(const Vocab& vocab);
  // Leftmost-longest matching; empty text fragments are left out.
  std::vector<TextFragment> split(std::string_view text, bool parse_special) const;

 private:
  struct Node {
    std::vector<std::pair<char, int32_t>> children;  // byte -> node index
    int32_t token = -1;
  };
  int32_t child(int32_t node, char c) const;
  // Longest special token starting at text[pos] that may be cut: {token, length} or {-1, 0}.
  std::pair<int32_t, size_t> match_at(std::string_view text, size_t pos, bool parse_special) const;

  const Vocab& vocab_;
  std::vector<Node> trie_;
  bool first_byte_[256] = {};
};

}  // namespace citadel
