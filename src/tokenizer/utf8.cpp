#include "tokenizer/utf8.h"

namespace citadel::utf8 {

size_t length_from_lead(uint8_t lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF8) return 4;
  return 1;
}

// Range of the second byte allowed after `lead` (RFC 3629 table): excludes overlongs and surrogates.
static bool second_byte_ok(uint8_t lead, uint8_t b) {
  switch (lead) {
    case 0xE0: return b >= 0xA0 && b <= 0xBF;
    case 0xED: return b >= 0x80 && b <= 0x9F;
    case 0xF0: return b >= 0x90 && b <= 0xBF;
    case 0xF4: return b >= 0x80 && b <= 0x8F;
    default: return (b & 0xC0) == 0x80;
  }
}

static size_t expected_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;  // continuation byte, overlong lead C0/C1, or F5..FF
}

// Number of bytes from pos that agree with a valid sequence (stops at the first bad byte).
static size_t matching_prefix(std::string_view text, size_t pos, size_t need) {
  const auto lead = static_cast<uint8_t>(text[pos]);
  size_t n = 1;
  for (; n < need && pos + n < text.size(); ++n) {
    const auto b = static_cast<uint8_t>(text[pos + n]);
    const bool ok = n == 1 ? second_byte_ok(lead, b) : (b & 0xC0) == 0x80;
    if (!ok) break;
  }
  return n;
}

size_t valid_length_at(std::string_view text, size_t pos) {
  if (pos >= text.size()) return 0;
  const size_t need = expected_length(static_cast<uint8_t>(text[pos]));
  if (need == 0) return 0;
  return matching_prefix(text, pos, need) == need ? need : 0;
}

size_t invalid_length_at(std::string_view text, size_t pos) {
  const size_t need = expected_length(static_cast<uint8_t>(text[pos]));
  return need <= 1 ? 1 : matching_prefix(text, pos, need);
}

bool is_incomplete_prefix(std::string_view text, size_t pos) {
  if (pos >= text.size()) return false;
  const size_t need = expected_length(static_cast<uint8_t>(text[pos]));
  if (need <= 1) return false;
  const size_t have = text.size() - pos;
  return have < need && matching_prefix(text, pos, need) == have;
}

bool is_valid(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t n = valid_length_at(text, pos);
    if (n == 0) return false;
    pos += n;
  }
  return true;
}

uint32_t decode_at(std::string_view text, size_t pos) {
  const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(text[pos + i])); };
  switch (valid_length_at(text, pos)) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    case 4: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    default: return 0xFFFD;
  }
}

std::string encode(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

}  // namespace citadel::utf8
