// ASCII character classes of the PII scanners and validators (locale-free, byte-wise: every
// non-ASCII byte is outside all of them).
#pragma once

namespace citadel::pii {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || is_upper(c); }
inline bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
inline bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// A character that makes a neighbouring value part of a longer word or code.
inline bool is_word(char c) { return is_alnum(c) || c == '_'; }

}  // namespace citadel::pii
