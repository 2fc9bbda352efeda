#include "gateway/pii_dictionary.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <stdexcept>

#include "gateway/pii_chars.h"

namespace citadel::pii {

namespace {
uint8_t fold(uint8_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
}  // namespace

void Dictionary::add(std::string_view term, const std::string& type, bool case_sensitive) {
  if (term.empty()) return;
  size_t t = std::find(types_.begin(), types_.end(), type) - types_.begin();
  if (t == types_.size()) types_.push_back(type);
  terms_.push_back({std::string(term), t, case_sensitive});
}

int32_t Dictionary::child(int32_t node, uint8_t byte) const {
  const auto& next = nodes_[node].next;
  auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(byte, int32_t{-1}));
  return it != next.end() && it->first == byte ? it->second : -1;
}

// Aho-Corasick goto/fail: the longest suffix of what was read that is a prefix of some term.
int32_t Dictionary::step(int32_t node, uint8_t byte) const {
  while (node != 0) {
    const int32_t c = child(node, byte);
    if (c >= 0) return c;
    node = nodes_[node].fail;
  }
  return root_next_[byte];
}

void Dictionary::build() {
  nodes_.assign(1, Node{});
  for (size_t i = 0; i < terms_.size(); ++i) {  // the trie, over case-folded bytes
    int32_t node = 0;
    for (unsigned char raw : terms_[i].text) {
      const uint8_t b = fold(raw);
      int32_t c = child(node, b);
      if (c < 0) {
        c = static_cast<int32_t>(nodes_.size());
        auto& next = nodes_[node].next;
        next.insert(std::lower_bound(next.begin(), next.end(), std::make_pair(b, int32_t{-1})), {b, c});
        nodes_.emplace_back();
      }
      node = c;
    }
    nodes_[node].terms.push_back(static_cast<int32_t>(i));
  }
  for (int b = 0; b < 256; ++b) root_next_[b] = std::max(child(0, static_cast<uint8_t>(b)), int32_t{0});
  std::deque<int32_t> queue;  // breadth first: a node's fail target is shallower, so already done
  nodes_[0].output = nodes_[0].terms.empty() ? -1 : 0;
  for (const auto& [b, c] : nodes_[0].next) {
    nodes_[c].fail = 0;
    queue.push_back(c);
  }
  while (!queue.empty()) {
    const int32_t n = queue.front();
    queue.pop_front();
    nodes_[n].output = !nodes_[n].terms.empty() ? n : nodes_[nodes_[n].fail].output;
    for (const auto& [b, c] : nodes_[n].next) {
      nodes_[c].fail = step(nodes_[n].fail, b);
      queue.push_back(c);
    }
  }
}

void Dictionary::find(std::string_view text, std::vector<PiiSpan>& out) const {
  if (terms_.empty()) return;
  if (nodes_.empty()) throw std::logic_error("pii::Dictionary::find before build");
  int32_t node = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    node = step(node, fold(static_cast<uint8_t>(text[i])));
    for (int32_t o = nodes_[node].output; o >= 0; o = nodes_[nodes_[o].fail].output) {
      for (int32_t ti : nodes_[o].terms) {
        const Term& term = terms_[ti];
        const size_t end = i + 1, begin = end - term.text.size();
        if (term.case_sensitive && std::memcmp(text.data() + begin, term.text.data(), term.text.size()) != 0) continue;
        // Terms that start or end with a letter or digit are whole words there.
        if (is_alnum(term.text.front()) && begin > 0 && is_alnum(text[begin - 1])) continue;
        if (is_alnum(term.text.back()) && end < text.size() && is_alnum(text[end])) continue;
        out.push_back({types_[term.type], begin, end, std::string(text.substr(begin, end - begin))});
      }
      if (o == 0) break;
    }
  }
}

}  // namespace citadel::pii
