#include "tokenizer/jinja_lexer.h"

#include <cstdint>

#include "tokenizer/jinja_error.h"
#include "tokenizer/jinja_text.h"

namespace citadel::jinja {

const char* token_type_name(TokenType t) {
  static const char* names[] = {
      "text", "number", "string", "identifier", "'='", "'('", "')'", "'{%'", "'%}'", "'{{'", "'}}'",
      "'['", "']'", "'{'", "'}'", "','", "'.'", "':'", "'|'", "additive operator",
      "multiplicative operator", "'**'", "comparison operator", "unary operator", "comment"};
  return names[static_cast<int>(t)];
}

SourceLocation locate(std::string_view source, size_t pos) {
  SourceLocation loc{1, 1};
  for (size_t i = 0, len = 0; i < pos && i < source.size(); i += len) {
    const char32_t cp = text::decode(source, i, &len);
    if (cp == '\n') {
      ++loc.line;
      loc.column = 1;
    } else {
      ++loc.column;
    }
  }
  return loc;
}

namespace {

// Preprocessed text, with the original offset of every byte so errors point into the source.
struct Mapped {
  std::string text;
  std::vector<uint32_t> origin;
  void push(char c, uint32_t at) {
    text += c;
    origin.push_back(at);
  }
};

bool is_line_start(const Mapped& m, size_t i) {
  if (i == 0) return true;
  const char p = m.text[i - 1];
  if (p == '\n' || p == '\r') return true;
  // U+2028 / U+2029 end a line for JS's multiline ^ too.
  return i >= 3 && m.text.compare(i - 3, 2, "\xE2\x80") == 0 &&
         (m.text[i - 1] == '\xA8' || m.text[i - 1] == '\xA9');
}

size_t space_len(const std::string& s, size_t i) {  // byte length of a JS space at i, or 0
  if (i >= s.size()) return 0;
  size_t len = 0;
  return text::is_js_space(text::decode(s, i, &len)) ? len : 0;
}

// /^[ \t]*({[#%-])/gm -> "$1"
Mapped lstrip_blocks(const Mapped& in) {
  Mapped out;
  const std::string& s = in.text;
  for (size_t i = 0; i < s.size();) {
    if (is_line_start(in, i)) {
      size_t j = i;
      while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
      if (j > i && j + 1 < s.size() && s[j] == '{' && (s[j + 1] == '#' || s[j + 1] == '%' || s[j + 1] == '-')) i = j;
    }
    if (i < s.size()) out.push(s[i], in.origin[i]);
    ++i;
  }
  return out;
}

// /([#%-]})\n/g -> "$1"
Mapped trim_blocks(const Mapped& in) {
  Mapped out;
  const std::string& s = in.text;
  for (size_t i = 0; i < s.size();) {
    if ((s[i] == '#' || s[i] == '%' || s[i] == '-') && i + 2 < s.size() && s[i + 1] == '}' && s[i + 2] == '\n') {
      out.push(s[i], in.origin[i]);
      out.push(s[i + 1], in.origin[i + 1]);
      i += 3;
      continue;
    }
    out.push(s[i], in.origin[i]);
    ++i;
  }
  return out;
}

// Matches {%-? \s* (end)?generation \s* -?%} at i; returns its end or 0, with the dash flags.
size_t match_generation_tag(const std::string& s, size_t i, bool* lstrip, bool* rstrip) {
  if (s.compare(i, 2, "{%") != 0) return 0;
  size_t j = i + 2;
  *lstrip = j < s.size() && s[j] == '-';
  if (*lstrip) ++j;
  while (size_t l = space_len(s, j)) j += l;
  if (s.compare(j, 3, "end") == 0 && s.compare(j + 3, 10, "generation") == 0) j += 3;
  if (s.compare(j, 10, "generation") != 0) return 0;
  j += 10;
  while (size_t l = space_len(s, j)) j += l;
  *rstrip = j < s.size() && s[j] == '-';
  if (*rstrip) ++j;
  if (s.compare(j, 2, "%}") != 0) return 0;
  return j + 2;
}

// /(\s*){%(-?)\s*(?:end)?generation\s*(-?)%}(\s*)/gs -> (lstrip ? "" : $1) + (rstrip ? "" : $4):
// transformers' assistant-mask tags render as nothing.
Mapped drop_generation_tags(const Mapped& in) {
  const std::string& s = in.text;
  if (s.find("generation") == std::string::npos) return in;
  Mapped out;
  size_t copied = 0;  // s[0, copied) is in out
  for (size_t i = 0; i < s.size(); ++i) {
    bool lstrip = false, rstrip = false;
    const size_t end = match_generation_tag(s, i, &lstrip, &rstrip);
    if (!end) continue;
    // Leading whitespace run (after the previous match), dropped when lstrip.
    size_t ws_begin = i;
    while (ws_begin > copied) {
      size_t k = ws_begin - 1;
      while (k > copied && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
      if (space_len(s, k) != ws_begin - k) break;
      ws_begin = k;
    }
    for (size_t k = copied; k < (lstrip ? ws_begin : i); ++k) out.push(s[k], in.origin[k]);
    size_t after = end;
    while (size_t l = space_len(s, after)) after += l;
    if (!rstrip)
      for (size_t k = end; k < after; ++k) out.push(s[k], in.origin[k]);
    copied = after;
    i = after - 1;
  }
  for (size_t k = copied; k < s.size(); ++k) out.push(s[k], in.origin[k]);
  return out;
}

Mapped preprocess(std::string_view source) {
  Mapped m;
  size_t n = source.size();
  if (n > 0 && source[n - 1] == '\n') --n;
  m.text.assign(source.substr(0, n));
  m.origin.resize(n);
  for (size_t i = 0; i < n; ++i) m.origin[i] = static_cast<uint32_t>(i);
  return drop_generation_tags(trim_blocks(lstrip_blocks(m)));
}

struct Symbol {
  const char* seq;
  TokenType type;
};
// Longest sequences first where one is a prefix of another, as in the reference's table.
const Symbol kSymbols[] = {
    {"{%", TokenType::OpenStatement}, {"%}", TokenType::CloseStatement},
    {"{{", TokenType::OpenExpression}, {"}}", TokenType::CloseExpression},
    {"(", TokenType::OpenParen}, {")", TokenType::CloseParen},
    {"{", TokenType::OpenCurlyBracket}, {"}", TokenType::CloseCurlyBracket},
    {"[", TokenType::OpenSquareBracket}, {"]", TokenType::CloseSquareBracket},
    {",", TokenType::Comma}, {".", TokenType::Dot}, {":", TokenType::Colon}, {"|", TokenType::Pipe},
    {"<=", TokenType::ComparisonBinaryOperator}, {">=", TokenType::ComparisonBinaryOperator},
    {"==", TokenType::ComparisonBinaryOperator}, {"!=", TokenType::ComparisonBinaryOperator},
    {"<", TokenType::ComparisonBinaryOperator}, {">", TokenType::ComparisonBinaryOperator},
    {"+", TokenType::AdditiveBinaryOperator}, {"-", TokenType::AdditiveBinaryOperator},
    {"~", TokenType::AdditiveBinaryOperator}, {"**", TokenType::ExponentiationBinaryOperator},
    {"*", TokenType::MultiplicativeBinaryOperator}, {"//", TokenType::MultiplicativeBinaryOperator},
    {"/", TokenType::MultiplicativeBinaryOperator}, {"%", TokenType::MultiplicativeBinaryOperator},
    {"=", TokenType::Equals},
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
 public:
  Lexer(std::string_view original, Mapped src) : original_(original), m_(std::move(src)), s_(m_.text) {}

  std::vector<Token> run() {
    while (cur_ < s_.size()) step();
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void fail(const std::string& what, size_t at) const {
    const size_t pos = at < m_.origin.size() ? m_.origin[at] : original_.size();
    const SourceLocation loc = locate(original_, pos);
    throw SyntaxError(what, loc.line, loc.column);
  }
  void push(TokenType type, std::string value, size_t at) {
    tokens_.push_back({type, std::move(value), at < m_.origin.size() ? m_.origin[at] : original_.size()});
  }
  bool at(const char* seq) const { return s_.compare(cur_, std::char_traits<char>::length(seq), seq) == 0; }
  char peek(size_t k = 0) const { return cur_ + k < s_.size() ? s_[cur_ + k] : '\0'; }
  const Token* last() const { return tokens_.empty() ? nullptr : &tokens_.back(); }

  void strip_trailing_whitespace() {
    if (tokens_.empty() || tokens_.back().type != TokenType::Text) return;
    tokens_.back().value = text::trim_end(tokens_.back().value);
    if (tokens_.back().value.empty()) tokens_.pop_back();
  }
  void skip_whitespace() {
    while (size_t l = space_len(s_, cur_)) cur_ += l;
  }

  // The reference's consumeWhile for string literals: backslash escapes, and an error when the
  // input ends inside the literal.
  std::string string_literal(char quote, size_t start) {
    std::string out;
    while (true) {
      if (cur_ >= s_.size()) fail("unterminated string literal", start);
      const char c = s_[cur_];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        ++cur_;
        continue;
      }
      if (++cur_ >= s_.size()) fail("unterminated string literal", start);
      const char e = s_[cur_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case 'x':
        case 'u': {
          const size_t n = e == 'x' ? 2 : 4;
          unsigned v = 0;
          for (size_t k = 0; k < n; ++k) {
            const char h = peek(k);
            const int d = is_digit(h) ? h - '0' : (h | 32) >= 'a' && (h | 32) <= 'f' ? (h | 32) - 'a' + 10 : -1;
            if (d < 0) fail(std::string("invalid hexadecimal escape sequence \\") + e, cur_ - 2);
            v = v * 16 + d;
          }
          cur_ += n;
          if (v >= 0xD800 && v <= 0xDBFF && at("\\u")) {  // surrogate pair -> one code point
            unsigned lo = 0;
            bool ok = true;
            for (size_t k = 2; k < 6 && ok; ++k) {
              const char h = peek(k);
              const int d = is_digit(h) ? h - '0' : (h | 32) >= 'a' && (h | 32) <= 'f' ? (h | 32) - 'a' + 10 : -1;
              ok = d >= 0;
              lo = lo * 16 + d;
            }
            if (ok && lo >= 0xDC00 && lo <= 0xDFFF) {
              cur_ += 6;
              v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            }
          }
          text::append_utf8(out, (v >= 0xD800 && v <= 0xDFFF) ? 0xFFFD : v);
          break;
        }
        default:
          fail(std::string("unexpected escaped character '") + e + "'", cur_ - 2);
      }
    }
    ++cur_;  // closing quote
    return out;
  }

  std::string digits() {
    const size_t b = cur_;
    while (cur_ < s_.size() && is_digit(s_[cur_])) ++cur_;
    return s_.substr(b, cur_ - b);
  }

  void step() {
    const Token* prev = last();
    if (!prev || prev->type == TokenType::CloseStatement || prev->type == TokenType::CloseExpression ||
        prev->type == TokenType::Comment) {
      const size_t b = cur_;
      while (cur_ < s_.size() && !(s_[cur_] == '{' && (peek(1) == '%' || peek(1) == '{' || peek(1) == '#'))) ++cur_;
      if (cur_ > b) {
        push(TokenType::Text, s_.substr(b, cur_ - b), b);
        return;
      }
    }
    if (at("{#")) {
      const size_t b = cur_;
      cur_ += 2;
      const bool strip_before = peek() == '-';
      if (strip_before) ++cur_;
      const size_t cb = cur_;
      while (!(peek() == '#' && peek(1) == '}')) {
        if (cur_ + 2 >= s_.size()) fail("missing end of comment tag '#}'", b);
        ++cur_;
      }
      std::string comment = s_.substr(cb, cur_ - cb);
      const bool strip_after = !comment.empty() && comment.back() == '-';
      if (strip_after) comment.pop_back();
      if (strip_before) strip_trailing_whitespace();
      push(TokenType::Comment, std::move(comment), b);
      cur_ += 2;
      if (strip_after) skip_whitespace();
      return;
    }
    if (at("{%-") || at("{{-")) {
      strip_trailing_whitespace();
      const bool stmt = peek(1) == '%';
      push(stmt ? TokenType::OpenStatement : TokenType::OpenExpression, stmt ? "{%" : "{{", cur_);
      if (!stmt) curly_depth_ = 0;
      cur_ += 3;
      return;
    }
    skip_whitespace();
    if (cur_ >= s_.size()) fail("unexpected end of template inside a tag", cur_);
    if (at("-%}") || at("-}}")) {
      const bool stmt = peek(1) == '%';
      push(stmt ? TokenType::CloseStatement : TokenType::CloseExpression, stmt ? "%}" : "}}", cur_);
      cur_ += 3;
      skip_whitespace();
      return;
    }
    const char c = s_[cur_];
    if (c == '-' || c == '+') {
      const Token* p = last();
      if (!p || p->type == TokenType::Text) fail(std::string("unexpected character '") + c + "'", cur_);
      const bool binary = p->type == TokenType::Identifier || p->type == TokenType::NumericLiteral ||
                          p->type == TokenType::StringLiteral || p->type == TokenType::CloseParen ||
                          p->type == TokenType::CloseSquareBracket;
      if (!binary) {
        const size_t b = cur_++;
        std::string num = digits();
        if (!num.empty() && peek() == '.' && is_digit(peek(1))) {
          ++cur_;
          num += "." + digits();
        }
        push(num.empty() ? TokenType::UnaryOperator : TokenType::NumericLiteral, c + num, b);
        return;
      }
    }
    for (const Symbol& sym : kSymbols) {
      if (sym.type == TokenType::CloseExpression && curly_depth_ > 0) continue;
      if (!at(sym.seq)) continue;
      push(sym.type, sym.seq, cur_);
      if (sym.type == TokenType::OpenExpression) curly_depth_ = 0;
      if (sym.type == TokenType::OpenCurlyBracket) ++curly_depth_;
      if (sym.type == TokenType::CloseCurlyBracket) --curly_depth_;
      cur_ += std::char_traits<char>::length(sym.seq);
      return;
    }
    if (c == '\'' || c == '"') {
      const size_t b = cur_++;
      std::string value = string_literal(c, b);
      push(TokenType::StringLiteral, std::move(value), b);
      return;
    }
    if (is_digit(c)) {
      const size_t b = cur_;
      std::string num = digits();
      const Token* p = last();
      if (!(p && p->type == TokenType::Dot) && peek() == '.' && is_digit(peek(1))) {
        ++cur_;
        num += "." + digits();
      }
      push(TokenType::NumericLiteral, std::move(num), b);
      return;
    }
    if (text::is_word_byte(static_cast<unsigned char>(c))) {
      const size_t b = cur_;
      while (cur_ < s_.size() && text::is_word_byte(static_cast<unsigned char>(s_[cur_]))) ++cur_;
      push(TokenType::Identifier, s_.substr(b, cur_ - b), b);
      return;
    }
    size_t len = 0;
    const char32_t cp = text::decode(s_, cur_, &len);
    std::string shown;
    text::append_utf8(shown, cp);
    fail("unexpected character '" + shown + "'", cur_);
  }

  std::string_view original_;
  Mapped m_;
  const std::string& s_;
  size_t cur_ = 0;
  int curly_depth_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) {
  return Lexer(source, preprocess(source)).run();
}

}  // namespace citadel::jinja
