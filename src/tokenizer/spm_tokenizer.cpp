#include "tokenizer/spm_tokenizer.h"

#include <queue>

#include "tokenizer/metaspace.h"
#include "tokenizer/utf8.h"

namespace citadel {

SpmTokenizer::SpmTokenizer(Vocab vocab, bool add_space_prefix)
    : VocabTokenizer(std::move(vocab), "llama", "spm"), add_space_prefix_(add_space_prefix) {}

void SpmTokenizer::encode_text(std::string_view raw, bool /*at_input_start*/, std::vector<int32_t>& out) const {
  std::string text = add_space_prefix_ ? " " : "";  // llama.cpp: at the start and after every special
  text.append(raw);
  text = metaspace::escape(text);

  // Symbols: one per character (an invalid byte is a character of its own), linked as a list.
  struct Symbol {
    size_t start, size;
    int prev, next;
  };
  std::vector<Symbol> symbols;
  for (size_t pos = 0; pos < text.size();) {
    const size_t n = std::max<size_t>(1, utf8::valid_length_at(text, pos));
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({pos, n, index - 1, -1});
    if (index > 0) symbols[index - 1].next = index;
    pos += n;
  }

  // Candidate merges of two neighbours into a token, best score first, leftmost on ties.
  struct Bigram {
    int left, right;
    float score;
    size_t size;
    bool operator<(const Bigram& o) const { return score < o.score || (score == o.score && left > o.left); }
  };
  std::priority_queue<Bigram> queue;
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const size_t size = symbols[left].size + symbols[right].size;
    const int32_t id = vocab().find_text_token(std::string_view(text).substr(symbols[left].start, size));
    if (id >= 0) queue.push({left, right, vocab().at(id).score, size});
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_add(static_cast<int>(i) - 1, static_cast<int>(i));

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& left = symbols[b.left];
    Symbol& right = symbols[b.right];
    // Stale: one side was merged away or grew since this pair was queued.
    if (left.size == 0 || right.size == 0 || left.size + right.size != b.size) continue;
    left.size += right.size;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = b.left;
    try_add(left.prev, b.left);
    try_add(b.left, left.next);
  }

  for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
    const std::string_view piece = std::string_view(text).substr(symbols[i].start, symbols[i].size);
    const int32_t id = vocab().find_text_token(piece);
    if (id >= 0) {
      out.push_back(id);
    } else {
      append_bytes(piece, out);
    }
  }
}

void SpmTokenizer::append_bytes(std::string_view bytes, std::vector<int32_t>& out) const {
  for (char c : bytes) {
    int32_t id = vocab().byte_token(static_cast<uint8_t>(c));
    if (id < 0) id = vocab().find_text_token(std::string(1, c));
    if (id < 0) id = vocab().unk;
    if (id >= 0) out.push_back(id);
  }
}

std::string SpmTokenizer::normal_piece(const std::string& token_text) const {
  return metaspace::unescape(token_text);
}

}  // namespace citadel
