// The labels around a value that decide what an ambiguous one is (see pii_scanners.h).
#include "gateway/pii_chars.h"
#include "gateway/pii_scanners.h"

namespace citadel::pii {

namespace {

bool same_folded(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

}  // namespace

bool labelled_before(std::string_view t, size_t pos, std::initializer_list<std::string_view> words) {
  size_t e = pos;
  while (e > 0 && (t[e - 1] == ' ' || t[e - 1] == ':' || t[e - 1] == '=' || t[e - 1] == '#')) --e;
  for (std::string_view w : words) {
    if (w.size() > e || !same_folded(t.substr(e - w.size(), w.size()), w)) continue;
    const size_t b = e - w.size();
    if (is_alnum(w.front()) && b > 0 && is_alnum(t[b - 1])) continue;
    return true;
  }
  return false;
}

bool labelled_after(std::string_view t, size_t end, std::initializer_list<std::string_view> words) {
  size_t b = end;
  while (b < t.size() && t[b] == ' ') ++b;
  for (std::string_view w : words) {
    if (b + w.size() > t.size() || !same_folded(t.substr(b, w.size()), w)) continue;
    if (is_alnum(w.back()) && b + w.size() < t.size() && is_alnum(t[b + w.size()])) continue;
    return true;
  }
  return false;
}

}  // namespace citadel::pii
