#include "tokenizer/jinja_text.h"

#include <charconv>
#include <clocale>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cwctype>
#include <locale.h>

#include "tokenizer/utf8.h"

namespace citadel::jinja::text {

char32_t decode(std::string_view s, size_t i, size_t* len) {
  const size_t n = utf8::valid_length_at(s, i);
  if (n == 0) {
    *len = 1;
    return 0xFFFD;
  }
  *len = n;
  return utf8::decode_at(s, i);
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else {
    out += utf8::encode(cp);
  }
}

std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (size_t i = 0, len = 0; i < s.size(); i += len) out.push_back(decode(s, i, &len));
  return out;
}

std::string from_code_points(const std::vector<char32_t>& cps, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end && i < cps.size(); ++i) append_utf8(out, cps[i]);
  return out;
}

bool is_js_space(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

bool is_word_byte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static size_t space_prefix(std::string_view s) {
  size_t i = 0, len = 0;
  while (i < s.size() && is_js_space(decode(s, i, &len))) i += len;
  return i;
}

static size_t content_end(std::string_view s) {
  size_t end = 0;  // byte just past the last non-space code point
  for (size_t i = 0, len = 0; i < s.size(); i += len)
    if (!is_js_space(decode(s, i, &len))) end = i + len;
  return end;
}

std::string trim_start(std::string_view s) { return std::string(s.substr(space_prefix(s))); }
std::string trim_end(std::string_view s) { return std::string(s.substr(0, content_end(s))); }
std::string trim(std::string_view s) {
  const size_t b = space_prefix(s);
  return b == s.size() ? std::string() : std::string(s.substr(b, content_end(s) - b));
}

size_t utf16_length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0, len = 0; i < s.size(); i += len) n += decode(s, i, &len) > 0xFFFF ? 2 : 1;
  return n;
}

// Unicode simple case mapping from glibc's C.UTF-8 tables; ASCII when that locale is missing.
static locale_t utf8_locale() {
  static locale_t loc = [] {
    locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
    return l ? l : newlocale(LC_CTYPE_MASK, "C.utf8", static_cast<locale_t>(0));
  }();
  return loc;
}

static char32_t map_case(char32_t cp, bool upper) {
  if (cp < 0x80) {
    if (upper && cp >= 'a' && cp <= 'z') return cp - 32;
    if (!upper && cp >= 'A' && cp <= 'Z') return cp + 32;
    return cp;
  }
  locale_t loc = utf8_locale();
  if (!loc) return cp;
  return static_cast<char32_t>(upper ? towupper_l(static_cast<wint_t>(cp), loc) : towlower_l(static_cast<wint_t>(cp), loc));
}

// JS applies SpecialCasing.txt's unconditional one-to-many mappings (and Final_Sigma) on top of
// the simple ones; these are the ones that occur in practice.
static const char* special_upper(char32_t cp) {
  switch (cp) {
    case 0x00DF: return "SS";
    case 0x0149: return "\u02BCN";
    case 0xFB00: return "FF";
    case 0xFB01: return "FI";
    case 0xFB02: return "FL";
    case 0xFB03: return "FFI";
    case 0xFB04: return "FFL";
    case 0xFB05:
    case 0xFB06: return "ST";
    case 0x0587: return "\u0535\u0552";
    default: return nullptr;
  }
}

static bool is_cased_letter(char32_t cp) {
  locale_t loc = utf8_locale();
  return cp < 0x80 ? ((cp | 32) >= 'a' && (cp | 32) <= 'z') : loc && iswalpha_l(static_cast<wint_t>(cp), loc);
}

static std::string map_all(std::string_view s, bool upper) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0, len = 0; i < s.size(); i += len) {
    const char32_t cp = decode(s, i, &len);
    if (upper) {
      if (const char* special = special_upper(cp)) {
        out += special;
        continue;
      }
    } else if (cp == 0x0130) {  // İ -> i + combining dot above
      out += "i\u0307";
      continue;
    } else if (cp == 0x03A3) {  // Σ -> ς at the end of a word, σ elsewhere
      size_t prev_len = 0, next_len = 0;
      bool after_letter = false;
      if (i > 0) {
        size_t k = i - 1;
        while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
        after_letter = is_cased_letter(decode(s, k, &prev_len));
      }
      const bool before_letter = i + len < s.size() && is_cased_letter(decode(s, i + len, &next_len));
      out += after_letter && !before_letter ? "\u03C2" : "\u03C3";
      continue;
    }
    append_utf8(out, map_case(cp, upper));
  }
  return out;
}

std::string to_upper(std::string_view s) { return map_all(s, true); }
std::string to_lower(std::string_view s) { return map_all(s, false); }

std::string title(std::string_view s) {
  std::string out(s);
  for (size_t i = 0; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    const bool starts_word = is_word_byte(c) && (i == 0 || !is_word_byte(static_cast<unsigned char>(out[i - 1])));
    if (starts_word && c >= 'a' && c <= 'z') out[i] = static_cast<char>(c - 32);
  }
  return out;
}

std::string capitalize(std::string_view s) {
  if (s.empty()) return {};
  size_t len = 0;
  const char32_t first = decode(s, 0, &len);
  // charAt(0) is one UTF-16 unit: an astral first character is left as it is.
  std::string out = first > 0xFFFF ? std::string(s.substr(0, len)) : to_upper(s.substr(0, len));
  out += s.substr(len);
  return out;
}

std::string js_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == 0) return "0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // shortest round-trip: "-1.2345e+02"
  std::string sign;
  if (sci[0] == '-') { sign = "-"; sci.erase(0, 1); }
  const size_t epos = sci.find('e');
  std::string digits = sci.substr(0, epos);
  if (digits.size() > 1) digits.erase(1, 1);  // drop the '.'
  const int exp = std::atoi(sci.c_str() + epos + 1);
  const int k = static_cast<int>(digits.size());
  const int n = exp + 1;  // position of the decimal point
  std::string out;
  if (k <= n && n <= 21) {
    out = digits + std::string(n - k, '0');
  } else if (0 < n && n <= 21) {
    out = digits.substr(0, n) + "." + digits.substr(n);
  } else if (-6 < n && n <= 0) {
    out = "0." + std::string(-n, '0') + digits;
  } else {
    out = digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
  }
  return sign + out;
}

static void append_u_escape(std::string& out, unsigned unit) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\u%04x", unit & 0xFFFFu);
  out += buf;
}

void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  for (size_t i = 0, len = 0; i < s.size(); i += len) {
    const char32_t cp = decode(s, i, &len);
    switch (cp) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    if (cp < 0x20) {
      append_u_escape(out, cp);
    } else if (ensure_ascii && cp >= 0x7F) {
      if (cp > 0xFFFF) {
        append_u_escape(out, 0xD800 + ((cp - 0x10000) >> 10));
        append_u_escape(out, 0xDC00 + ((cp - 0x10000) & 0x3FF));
      } else {
        append_u_escape(out, cp);
      }
    } else {
      out.append(s.substr(i, len));
    }
  }
  out += '"';
}

double js_to_number(std::string_view s) {
  const std::string t = trim(s);
  if (t.empty()) return 0;
  if (t == "Infinity" || t == "+Infinity") return INFINITY;
  if (t == "-Infinity") return -INFINITY;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    char* end = nullptr;
    const double v = static_cast<double>(std::strtoull(t.c_str() + 2, &end, 16));
    return *end == 0 ? v : NAN;
  }
  for (char c : t)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return NAN;
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  return *end == 0 ? v : NAN;
}

bool js_parse_int(std::string_view s, int64_t* out) {
  const std::string t = trim_start(s);
  size_t i = 0;
  bool neg = false;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) neg = t[i++] == '-';
  double v = 0;
  const size_t start = i;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') v = v * 10 + (t[i++] - '0');
  if (i == start) return false;
  if (v > 9.2e18) v = 9.2e18;
  *out = static_cast<int64_t>(neg ? -v : v);
  return true;
}

bool js_parse_float(std::string_view s, double* out) {
  const std::string t = trim_start(s);
  for (const char* inf : {"Infinity", "+Infinity", "-Infinity"}) {
    if (t.rfind(inf, 0) == 0) { *out = inf[0] == '-' ? -INFINITY : INFINITY; return true; }
  }
  // Longest prefix of the form [+-]digits[.digits][e[+-]digits].
  size_t i = 0;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
  size_t digits = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    size_t j = i + 1;
    if (j < t.size() && (t[j] == '+' || t[j] == '-')) ++j;
    if (j < t.size() && t[j] >= '0' && t[j] <= '9') {
      while (j < t.size() && t[j] >= '0' && t[j] <= '9') ++j;
      i = j;
    }
  }
  *out = std::strtod(t.substr(0, i).c_str(), nullptr);
  return true;
}

}  // namespace citadel::jinja::text
