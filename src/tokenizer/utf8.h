// UTF-8 helpers the tokenizers share. Text reaching a tokenizer may be invalid UTF-8: nothing here
// reads past the end of its input, and invalid bytes are reported, never trusted.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace citadel::utf8 {

// Length of the sequence announced by a lead byte (1 for ASCII, continuation and invalid bytes).
size_t length_from_lead(uint8_t lead);
// Length of the well-formed sequence at text[pos], or 0 if the bytes there are not valid UTF-8
// (overlong forms, surrogates, values past U+10FFFF, truncated sequences).
size_t valid_length_at(std::string_view text, size_t pos);
// Where valid_length_at is 0: how many bytes one U+FFFD replaces (Unicode's "maximal subpart":
// a truncated sequence counts once, a stray byte alone).
size_t invalid_length_at(std::string_view text, size_t pos);
// True when text[pos..] is a proper, still incomplete start of a valid sequence.
bool is_incomplete_prefix(std::string_view text, size_t pos);
bool is_valid(std::string_view text);
// The code point of the valid sequence at text[pos] (call only where valid_length_at > 0).
uint32_t decode_at(std::string_view text, size_t pos);
std::string encode(uint32_t code_point);

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace citadel::utf8
