// The built-in detectors, one scanner each, for PiiDetector. Each appends the spans it finds to
// `out` (in any order, possibly overlapping other scanners' spans; PiiDetector settles overlaps).
// They read bytes: non-ASCII bytes (Chinese text, invalid UTF-8) are plain boundaries, so a value
// glued to Chinese characters is found, while one glued to ASCII letters is part of a code.
#pragma once
#include <initializer_list>
#include <string_view>
#include <vector>

#include "gateway/pii_span.h"

namespace citadel::pii {

// Runs of digits joined by single spaces, dashes or parentheses ("138 1234 5678", "(010)12345678",
// "+44 20 7946 0958"), read as CN_ID, BANK_CARD, US_SSN or PHONE. A digit run is never split: a
// shorter number inside a longer run is not reported.
struct NumberKinds {
  bool phone = true, cn_id = true, bank_card = true, us_ssn = true;
};
void scan_numbers(std::string_view text, const NumberKinds& kinds, std::vector<PiiSpan>& out);
void scan_emails(std::string_view text, std::vector<PiiSpan>& out);
// IPv4 dotted quads and IPv6 addresses, as type IP.
void scan_ips(std::string_view text, std::vector<PiiSpan>& out);
// Compact ("DE89370400440532013000") or grouped by four ("DE89 3704 0044 0532 0130 00").
void scan_ibans(std::string_view text, std::vector<PiiSpan>& out);

// Whether one of `words` stands right before `pos` (only spaces and ':', '=', '#' between) or right
// after `end` (only spaces between): the label of a value ("SSN: ...", "version 1.0.0.0", "1.0.0.0版本").
// ASCII words match in any case and as whole words.
bool labelled_before(std::string_view text, size_t pos, std::initializer_list<std::string_view> words);
bool labelled_after(std::string_view text, size_t end, std::initializer_list<std::string_view> words);

}  // namespace citadel::pii
