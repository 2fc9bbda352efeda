#include "tokenizer/byte_level.h"

#include <array>
#include <unordered_map>

#include "tokenizer/utf8.h"

namespace citadel::byte_level {
namespace {

// Printable bytes keep their code point; the others are numbered from U+0100 in byte order.
struct Alphabet {
  std::array<std::string, 256> byte_to_text;
  std::unordered_map<uint32_t, char> code_point_to_byte;

  Alphabet() {
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      const uint32_t cp = printable ? b : next++;
      byte_to_text[b] = utf8::encode(cp);
      code_point_to_byte[cp] = static_cast<char>(b);
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet a;
  return a;
}

}  // namespace

std::string encode(std::string_view bytes) {
  const auto& a = alphabet();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += a.byte_to_text[static_cast<uint8_t>(c)];
  return out;
}

std::string decode(std::string_view text) {
  const auto& a = alphabet();
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t n = utf8::valid_length_at(text, pos);
    if (n == 0) {  // not UTF-8 at all: keep the byte
      out += text[pos++];
      continue;
    }
    const auto it = a.code_point_to_byte.find(utf8::decode_at(text, pos));
    if (it != a.code_point_to_byte.end()) {
      out += it->second;
    } else {
      out.append(text.substr(pos, n));
    }
    pos += n;
  }
  return out;
}

}  // namespace citadel::byte_level
