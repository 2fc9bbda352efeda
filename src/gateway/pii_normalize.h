// Chinese text often writes digits, letters and '@' in their full-width forms ("１３８１２３４５６７８").
// The built-in scanners read ASCII, so the detector narrows those forms first and maps what it
// finds back to the original bytes.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::pii {

struct NarrowText {
  std::string text;              // full-width forms U+FF01-U+FF5E as ASCII '!'-'~', U+3000 as ' '
  std::vector<uint32_t> origin;  // origin[i]: where text[i] starts in the original; one more at the end
};

// False, leaving `out` alone, when the text holds no full-width form (or is over 4 GiB).
bool narrow_fullwidth(std::string_view text, NarrowText& out);

}  // namespace citadel::pii
