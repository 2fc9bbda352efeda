// SentencePiece spells a space as "▁" (U+2581) inside tokens.
#pragma once
#include <string>
#include <string_view>

namespace citadel::metaspace {

inline constexpr std::string_view kSymbol = "\xE2\x96\x81";
std::string escape(std::string_view text);    // ' ' -> "▁"
std::string unescape(std::string_view text);  // "▁" -> ' '

}  // namespace citadel::metaspace
