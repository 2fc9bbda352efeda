#include "tokenizer/bpe_tokenizer.h"

#include <queue>

#include "tokenizer/byte_level.h"
#include "tokenizer/metaspace.h"
#include "tokenizer/nfc.h"
#include "tokenizer/utf8.h"

namespace citadel {

static uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

BpeTokenizer::BpeTokenizer(Vocab vocab, BpeOptions options)
    : VocabTokenizer(std::move(vocab), "gpt2", options.pre_name),
      pre_tokenizer_(std::move(options.pre_tokenizer)),
      byte_level_(options.byte_level),
      spaces_as_metaspace_(options.spaces_as_metaspace),
      nfc_(options.nfc),
      ignore_merges_(options.ignore_merges),
      prefix_space_(options.prefix_space) {
  merges_.reserve(options.merges.size());
  int32_t rank = 0;
  for (const auto& [left, right] : options.merges) {
    const int32_t l = this->vocab().find(left), r = this->vocab().find(right);
    const int32_t result = this->vocab().find_text_token(left + right);  // never a control token
    // A merge whose parts or result are not tokens can never apply; the first listing wins.
    if (l >= 0 && r >= 0 && result >= 0) merges_.try_emplace(pair_key(l, r), Merge{rank, result});
    ++rank;
  }
}

void BpeTokenizer::encode_text(std::string_view raw, bool at_input_start, std::vector<int32_t>& out) const {
  const std::string normalized = nfc_ ? to_nfc(raw) : std::string();
  if (nfc_) raw = normalized;
  std::string text;
  if (prefix_space_ == PrefixSpace::kAlways || (prefix_space_ == PrefixSpace::kFirst && at_input_start) ||
      (prefix_space_ == PrefixSpace::kIfMissing && (raw.empty() || raw[0] != ' ')))
    text = " ";
  text.append(raw);
  if (spaces_as_metaspace_) text = metaspace::escape(text);
  for (std::string_view word : pre_tokenizer_.split(text)) {
    if (byte_level_) {
      encode_word(byte_level::encode(word), out);
    } else {
      encode_word(word, out);
    }
  }
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    const int32_t whole = vocab().find_text_token(word);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  struct Symbol {
    size_t start, size;
    int32_t id;  // -1: a character no token spells
    int prev, next;
  };
  std::vector<Symbol> symbols;
  for (size_t pos = 0; pos < word.size();) {
    const size_t n = std::max<size_t>(1, utf8::valid_length_at(word, pos));
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({pos, n, vocab().find_text_token(word.substr(pos, n)), index - 1, -1});
    if (index > 0) symbols[index - 1].next = index;
    pos += n;
  }

  // Candidate merges, lowest rank first, leftmost on ties; stale entries are skipped when popped.
  struct Candidate {
    int32_t rank;
    int left, right;
    int32_t left_id, right_id, result;
    bool operator<(const Candidate& o) const { return rank > o.rank || (rank == o.rank && left > o.left); }
  };
  std::priority_queue<Candidate> queue;
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0 || symbols[left].id < 0 || symbols[right].id < 0) return;
    const auto it = merges_.find(pair_key(symbols[left].id, symbols[right].id));
    if (it == merges_.end()) return;
    queue.push({it->second.rank, left, right, symbols[left].id, symbols[right].id, it->second.result});
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_add(static_cast<int>(i) - 1, static_cast<int>(i));

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[c.left];
    Symbol& right = symbols[c.right];
    if (left.size == 0 || right.size == 0 || left.next != c.right || left.id != c.left_id || right.id != c.right_id)
      continue;
    left.size += right.size;
    left.id = c.result;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    try_add(left.prev, c.left);
    try_add(c.left, left.next);
  }

  for (int i = 0; i >= 0; i = symbols[i].next) {
    if (symbols[i].id >= 0) {
      out.push_back(symbols[i].id);
    } else {
      append_unknown(word.substr(symbols[i].start, symbols[i].size), out);
    }
  }
}

// A symbol without a token: its bytes as byte tokens, else <unk>.
void BpeTokenizer::append_unknown(std::string_view symbol, std::vector<int32_t>& out) const {
  if (byte_level_) {
    // Byte-level text is already made of byte stand-ins; a stand-in missing from the vocabulary is
    // dropped, as llama.cpp and Hugging Face do.
    for (size_t pos = 0; pos < symbol.size();) {
      const size_t n = std::max<size_t>(1, utf8::valid_length_at(symbol, pos));
      const int32_t id = vocab().find_text_token(symbol.substr(pos, n));
      if (id >= 0) out.push_back(id);
      pos += n;
    }
    return;
  }
  bool all_bytes = true;
  for (char c : symbol) all_bytes = all_bytes && vocab().byte_token(static_cast<uint8_t>(c)) >= 0;
  if (all_bytes) {
    for (char c : symbol) out.push_back(vocab().byte_token(static_cast<uint8_t>(c)));
  } else if (vocab().unk >= 0) {
    out.push_back(vocab().unk);
  }
}

std::string BpeTokenizer::normal_piece(const std::string& token_text) const {
  if (byte_level_) return byte_level::decode(token_text);
  return spaces_as_metaspace_ ? metaspace::unescape(token_text) : token_text;
}

}  // namespace citadel
