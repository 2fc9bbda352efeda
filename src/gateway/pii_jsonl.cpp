// One pass over the line: it validates the JSON (RFC 8259, as strictly as nlohmann::json::parse:
// UTF-8, escapes and surrogate pairs, number grammar, nothing after the value), decodes only the
// strings the field paths reach, and splices their redacted forms into a copy of the line. Bytes
// outside redacted strings are copied as they are.
#include "gateway/pii_jsonl.h"

#include <cstring>

#include "tokenizer/utf8.h"

namespace citadel {

namespace {

constexpr int kMaxDepth = 512;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;  // start of the bytes that need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: out += "\\u00", out += kHex[c >> 4], out += kHex[c & 15];
    }
  }
  out.append(s.substr(run));
  out += '"';
}

class RecordScanner {
 public:
  RecordScanner(std::string_view line, const std::vector<JsonFieldPath>& paths, PiiRedactor& r, std::string& out)
      : s_(line), paths_(paths), redactor_(r), out_(out) {}

  // False with error() set when the line is not one JSON value; changed() when a string was redacted.
  bool run() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;  // a byte order mark, as nlohmann skips it
    ws();
    if (i_ == s_.size()) return fail("empty");
    const bool object = s_[i_] == '{';
    if (!value(0)) return false;
    ws();
    if (i_ != s_.size()) return fail("text after the value");
    if (!object) return fail_plain("not a JSON object");
    if (changed_) out_.append(s_.substr(copied_));
    return true;
  }
  const std::string& error() const { return error_; }
  bool changed() const { return changed_; }

 private:
  bool fail(const char* why) {
    error_ = std::string("not JSON: ") + why + " at byte " + std::to_string(i_ + 1);
    return false;
  }
  bool fail_plain(const char* why) {
    error_ = why;
    return false;
  }
  void ws() {
    while (i_ < s_.size() && is_ws(s_[i_])) ++i_;
  }

  bool value(int depth) {
    if (i_ == s_.size()) return fail("expected a value");
    switch (s_[i_]) {
      case '{': return object(depth + 1);
      case '[': return array(depth + 1);
      case '"': return targeted() ? redacted_string() : string(nullptr);
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }

  bool object(int depth) {
    if (depth > kMaxDepth) return fail("nested too deep");
    ++i_;
    ws();
    if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
    const size_t level = path_.size();
    path_.emplace_back();
    for (;;) {
      if (i_ == s_.size() || s_[i_] != '"') return fail("expected a member name");
      key_.clear();
      if (!string(&key_)) return false;
      path_[level] = {key_, false};
      ws();
      if (i_ == s_.size() || s_[i_] != ':') return fail("expected ':'");
      ++i_;
      ws();
      if (!value(depth)) return false;
      ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        ws();
        continue;
      }
      if (i_ < s_.size() && s_[i_] == '}') break;
      return fail("expected ',' or '}'");
    }
    ++i_;
    path_.pop_back();
    return true;
  }

  bool array(int depth) {
    if (depth > kMaxDepth) return fail("nested too deep");
    ++i_;
    ws();
    if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
    path_.push_back({std::string(), true});
    for (;;) {
      if (!value(depth)) return false;
      ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        ws();
        continue;
      }
      if (i_ < s_.size() && s_[i_] == ']') break;
      return fail("expected ',' or ']'");
    }
    ++i_;
    path_.pop_back();
    return true;
  }

  bool literal(const char* word) {
    const size_t n = std::strlen(word);
    if (s_.substr(i_, n) != word) return fail("invalid literal");
    i_ += n;
    return true;
  }

  bool digits() {
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > start;
  }
  bool number() {
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ < s_.size() && s_[i_] == '0') {
      ++i_;
    } else if (!digits()) {
      return fail("expected a value");
    }
    if (i_ < s_.size() && s_[i_] == '.' && (++i_, !digits())) return fail("expected digits after '.'");
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) return fail("expected digits in the exponent");
    }
    return true;
  }

  // The string at i_ (its opening quote), checked; decoded into *text when text is not null.
  bool string(std::string* text) {
    ++i_;
    size_t run = i_;
    for (;;) {
      if (i_ == s_.size()) return fail("unterminated string");
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') break;
      if (c < 0x20) return fail("control character in a string");
      if (c < 0x80 && c != '\\') {
        ++i_;
        continue;
      }
      if (c >= 0x80) {
        const size_t n = utf8::valid_length_at(s_, i_);
        if (n == 0) return fail("invalid UTF-8 in a string");
        i_ += n;
        continue;
      }
      if (text) text->append(s_.substr(run, i_ - run));
      if (!escape(text)) return false;
      run = i_;
    }
    if (text) text->append(s_.substr(run, i_ - run));
    ++i_;
    return true;
  }

  bool escape(std::string* text) {  // at the backslash
    if (i_ + 1 >= s_.size()) return fail("unterminated string");
    static constexpr char kEscapes[] = "\"\\/bfnrt", kDecoded[] = "\"\\/\b\f\n\r\t";
    const char e = s_[i_ + 1];
    const char* simple = e ? std::strchr(kEscapes, e) : nullptr;
    if (simple) {
      if (text) *text += kDecoded[simple - kEscapes];
      i_ += 2;
      return true;
    }
    if (e != 'u') return fail("invalid escape");
    uint32_t cp = 0;
    if (!hex4(i_ + 2, cp)) return fail("invalid \\u escape");
    i_ += 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      uint32_t low = 0;
      if (s_.substr(i_, 2) != "\\u" || !hex4(i_ + 2, low) || low < 0xDC00 || low > 0xDFFF)
        return fail("high surrogate without a low one");
      i_ += 6;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    if (text) *text += utf8::encode(cp);
    return true;
  }
  bool hex4(size_t at, uint32_t& cp) const {
    if (at + 4 > s_.size()) return false;
    cp = 0;
    for (size_t k = 0; k < 4; ++k) {
      const int h = hex_value(s_[at + k]);
      if (h < 0) return false;
      cp = cp * 16 + static_cast<uint32_t>(h);
    }
    return true;
  }

  bool redacted_string() {
    const size_t start = i_;
    decoded_.clear();
    if (!string(&decoded_)) return false;
    const std::string redacted = redactor_.redact(decoded_, &spans_);
    if (spans_.empty()) return true;
    out_.append(s_.substr(copied_, start - copied_));
    append_escaped(out_, redacted);
    copied_ = i_;
    changed_ = true;
    return true;
  }

  // Whether some field path reaches the value being read: every segment matches (a key, or '*'
  // for any key or element); a path that ends above the value reaches everything inside.
  bool targeted() const {
    for (const auto& p : paths_) {
      if (p.size() > path_.size()) continue;
      bool match = true;
      for (size_t k = 0; k < p.size() && match; ++k)
        match = p[k] == "*" || (!path_[k].element && p[k] == path_[k].key);
      if (match) return true;
    }
    return false;
  }

  struct Step {
    std::string key;
    bool element;  // an array element (no key)
  };

  std::string_view s_;
  const std::vector<JsonFieldPath>& paths_;
  PiiRedactor& redactor_;
  std::string& out_;
  size_t i_ = 0, copied_ = 0;
  bool changed_ = false;
  std::string error_, key_, decoded_;
  std::vector<Step> path_;
  std::vector<PiiSpan> spans_;
};

}  // namespace

JsonlRedaction redact_jsonl_line(std::string_view line, const std::vector<JsonFieldPath>& paths, PiiRedactor& redactor,
                                 std::string& out) {
  JsonlRedaction r;
  redactor.clear();
  out.clear();
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) {
    r.kind = JsonlRedaction::Blank;
    return r;
  }
  RecordScanner scan(line, paths, redactor, out);
  if (!scan.run()) {
    r.kind = JsonlRedaction::Malformed;
    r.error = scan.error();
    return r;
  }
  r.changed = scan.changed();
  if (!r.changed) out.assign(line);
  return r;
}

}  // namespace citadel
