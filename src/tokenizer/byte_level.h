// GPT-2's byte-level alphabet: every byte 0..255 stands for one printable Unicode character, so a
// byte-level BPE vocabulary can spell any byte string (space is "Ġ", newline is "Ċ").
#pragma once
#include <string>
#include <string_view>

namespace citadel::byte_level {

// Each byte of `bytes` replaced by the UTF-8 of its stand-in character.
std::string encode(std::string_view bytes);
// The inverse: stand-in characters back to bytes; characters outside the alphabet are kept as is.
std::string decode(std::string_view text);

}  // namespace citadel::byte_level
