// The scanners of values made of more than digits: e-mail addresses, IP addresses, IBANs. Each
// finds a cheap anchor ('@', ':', '.', two capitals and two digits), takes the widest run of the
// characters the value may hold, trims what a sentence adds around it, and validates the rest.
#include <cstring>
#include <string>

#include "gateway/pii_chars.h"
#include "gateway/pii_scanners.h"
#include "gateway/pii_validators.h"

namespace citadel::pii {

namespace {

char char_at(std::string_view t, size_t i) { return i < t.size() ? t[i] : '\0'; }
char char_before(std::string_view t, size_t i) { return i > 0 ? t[i - 1] : '\0'; }

void add(std::string_view t, const char* type, size_t b, size_t e, std::vector<PiiSpan>& out) {
  out.push_back({type, b, e, std::string(t.substr(b, e - b))});
}

bool local_char(char c) { return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'; }
bool domain_char(char c) { return is_alnum(c) || c == '.' || c == '-'; }
bool ipv6_char(char c) { return is_hex(c) || c == ':' || c == '.'; }

}  // namespace

void scan_emails(std::string_view t, std::vector<PiiSpan>& out) {
  for (size_t at = 0; (at = t.find('@', at)) != std::string_view::npos; ++at) {
    size_t b = at, e = at + 1;
    while (b > 0 && local_char(t[b - 1])) --b;
    while (e < t.size() && domain_char(t[e])) ++e;
    while (b < at && t[b] == '.') ++b;                             // "...john@": an ellipsis
    while (e > at + 1 && (t[e - 1] == '.' || t[e - 1] == '-')) --e;  // the sentence's full stop
    if (b == at || char_before(t, b) == '@' || char_at(t, e) == '@') continue;  // a@b@c is no address
    if (email_valid(t.substr(b, e - b))) add(t, pii_type::kEmail, b, e, out);
  }
}

void scan_ips(std::string_view t, std::vector<PiiSpan>& out) {
  // IPv4: a dotted quad that is not part of a longer dotted number (1.2.3.4.5, 10.0.19041.1).
  for (size_t i = 0; i < t.size(); ++i) {
    if (!is_digit(t[i]) || is_digit(char_before(t, i))) continue;
    const char l = char_before(t, i);
    if (is_word(l) || (l == '.' && is_digit(char_before(t, i - 1)))) continue;
    size_t e = i;
    int dots = 0;
    while (e < t.size() && (is_digit(t[e]) || (t[e] == '.' && is_digit(char_at(t, e + 1)) && dots < 3))) dots += t[e++] == '.';
    const char r = char_at(t, e);
    if (dots != 3 || is_word(r) || (r == '.' && is_digit(char_at(t, e + 1)))) continue;
    // A version number can be a valid quad ("Assembly version 1.0.0.0"): its label says which.
    if (ipv4_valid(t.substr(i, e - i)) && !labelled_before(t, i, {"version", "ver", "build", "release", "版本", "版本号"}) &&
        !labelled_after(t, e, {"版本"}))
      add(t, pii_type::kIp, i, e, out);
    i = e;
  }
  // IPv6: around each ':', the widest run of hex digits, ':' and '.'.
  for (size_t c = 0; (c = t.find(':', c)) != std::string_view::npos;) {
    size_t b = c, e = c;
    while (b > 0 && ipv6_char(t[b - 1])) --b;
    while (e < t.size() && ipv6_char(t[e])) ++e;
    const size_t next = e;
    while (e > b && t[e - 1] == '.') --e;
    if (e - b >= 2 && t[e - 1] == ':' && t[e - 2] != ':') --e;                     // "fe80::1: down"
    if (e - b >= 2 && t[b] == ':' && t[b + 1] != ':') ++b;                         // "IP:fe80::1"
    const std::string_view s = t.substr(b, e - b);
    size_t groups = 0;  // hex groups with something in them
    bool digit = false;
    for (size_t k = 0; k < s.size(); ++k) {
      digit |= is_digit(s[k]);
      if (s[k] != ':' && (k == 0 || s[k - 1] == ':')) ++groups;
    }
    // A digit and two groups: "a::b" in code and a lone "1::" are not addresses; "::1" is.
    if (!is_word(char_before(t, b)) && !is_word(char_at(t, e)) && digit && (groups >= 2 || s == "::1") &&
        ipv6_valid(s))
      add(t, pii_type::kIp, b, e, out);
    c = next + 1;
  }
}

void scan_ibans(std::string_view t, std::vector<PiiSpan>& out) {
  for (size_t i = 0; i + 4 < t.size(); ++i) {
    if (!is_upper(t[i]) || !is_upper(t[i + 1]) || !is_digit(t[i + 2]) || !is_digit(t[i + 3]) || is_word(char_before(t, i)))
      continue;
    const int length = iban_length(t.substr(i, 2));
    if (length == 0) continue;
    // Compact, or in groups of four separated by one space; the last group may be shorter.
    std::string compact;
    size_t e = i;
    for (bool grouped : {false, true}) {
      compact.clear();
      e = i;
      while (static_cast<int>(compact.size()) < length) {
        if (grouped && !compact.empty() && compact.size() % 4 == 0) {
          if (char_at(t, e) != ' ') break;
          ++e;
        }
        const char c = char_at(t, e);
        if (!is_upper(c) && !is_digit(c)) break;
        compact += c;
        ++e;
      }
      if (static_cast<int>(compact.size()) == length && !is_word(char_at(t, e))) break;
    }
    if (static_cast<int>(compact.size()) == length && !is_word(char_at(t, e)) && iban_valid(compact)) {
      add(t, pii_type::kIban, i, e, out);
      i = e - 1;
    }
  }
}

}  // namespace citadel::pii
