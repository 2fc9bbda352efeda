#include "gateway/pii_normalize.h"

namespace citadel::pii {

namespace {

// The ASCII character of a full-width form or ideographic space at text[i] (3 bytes), else 0.
char narrow_at(std::string_view t, size_t i) {
  if ((t[i] != '\xEF' && t[i] != '\xE3') || i + 2 >= t.size()) return 0;
  const auto b0 = static_cast<uint8_t>(t[i]), b1 = static_cast<uint8_t>(t[i + 1]), b2 = static_cast<uint8_t>(t[i + 2]);
  if (b0 == 0xE3 && b1 == 0x80 && b2 == 0x80) return ' ';
  if (b0 != 0xEF || (b2 & 0xC0) != 0x80) return 0;
  const unsigned cp = 0xF000u | ((b1 & 0x3Fu) << 6) | (b2 & 0x3Fu);
  if ((b1 & 0xC0) != 0x80 || cp < 0xFF01 || cp > 0xFF5E) return 0;
  return static_cast<char>('!' + (cp - 0xFF01));
}

}  // namespace

bool narrow_fullwidth(std::string_view text, NarrowText& out) {
  if (text.size() >= UINT32_MAX) return false;
  size_t first = 0;
  while (first < text.size() && !narrow_at(text, first)) ++first;
  if (first == text.size()) return false;
  out.text.clear();
  out.text.reserve(text.size());
  out.text.append(text.substr(0, first));
  out.origin.resize(first);
  out.origin.reserve(text.size() + 1);
  for (size_t i = 0; i < first; ++i) out.origin[i] = static_cast<uint32_t>(i);
  for (size_t i = first; i < text.size();) {
    out.origin.push_back(static_cast<uint32_t>(i));
    if (const char c = narrow_at(text, i)) {
      out.text += c;
      i += 3;
    } else {
      out.text += text[i++];
    }
  }
  out.origin.push_back(static_cast<uint32_t>(text.size()));
  return true;
}

}  // namespace citadel::pii
