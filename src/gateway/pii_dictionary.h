// Dictionary detector: finds listed terms (customer names, internal identifiers) in text, with
// Aho-Corasick over bytes, so thousands of terms cost one pass. A term that begins or ends with
// an ASCII letter or digit matches only where the text has no letter or digit next to it there
// ("John Smith" is not found in "John Smithson"); Chinese terms need no boundary ("张伟" in
// "客户张伟的"). ASCII letters match in either case unless the dictionary is case-sensitive.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/pii_span.h"

namespace citadel::pii {

class Dictionary {
 public:
  // Adds a term reported as `type`; empty terms are ignored. Call build() after the last add().
  void add(std::string_view term, const std::string& type, bool case_sensitive);
  void build();
  bool empty() const { return terms_.empty(); }
  size_t size() const { return terms_.size(); }
  // Appends every occurrence of every term (overlapping ones too). Thread-safe once built.
  void find(std::string_view text, std::vector<PiiSpan>& out) const;

 private:
  struct Term {
    std::string text;  // as given
    size_t type;       // index into types_
    bool case_sensitive;
  };
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> next;  // sorted by byte
    int32_t fail = 0;
    int32_t output = -1;          // the nearest node on the fail chain (itself included) that ends terms
    std::vector<int32_t> terms;   // the terms ending here
  };
  int32_t child(int32_t node, uint8_t byte) const;
  int32_t step(int32_t node, uint8_t byte) const;

  std::vector<Term> terms_;
  std::vector<std::string> types_;
  std::vector<Node> nodes_;
  int32_t root_next_[256] = {};  // the root's moves, as a table: most bytes stop there
};

}  // namespace citadel::pii
