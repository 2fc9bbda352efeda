#include "engine/json_constraint.h"

#include <cctype>
#include <cstring>
#include <limits>

#include "tokenizer/tokenizer.h"

namespace citadel {

namespace {
constexpr int kMaxWhitespaceRun = 2;  // models can loop on whitespace; keep the output moving
constexpr size_t kMaxDepth = 64;

bool is_ws(unsigned char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

// Is `n` (a number prefix) still extendable / already a complete JSON number?
bool number_prefix_ok(const std::string& n) {
  size_t i = 0;
  if (i < n.size() && n[i] == '-') ++i;
  if (i == n.size()) return true;
  if (n[i] == '0') {
    ++i;
  } else if (n[i] >= '1' && n[i] <= '9') {
    while (i < n.size() && std::isdigit(static_cast<unsigned char>(n[i]))) ++i;
  } else {
    return false;
  }
  if (i < n.size() && n[i] == '.') {
    ++i;
    if (i == n.size()) return true;
    if (!std::isdigit(static_cast<unsigned char>(n[i]))) return false;
    while (i < n.size() && std::isdigit(static_cast<unsigned char>(n[i]))) ++i;
  }
  if (i < n.size() && (n[i] == 'e' || n[i] == 'E')) {
    ++i;
    if (i < n.size() && (n[i] == '+' || n[i] == '-')) ++i;
    if (i == n.size()) return true;
    while (i < n.size() && std::isdigit(static_cast<unsigned char>(n[i]))) ++i;
  }
  return i == n.size();
}

bool number_complete(const std::string& n) {
  if (n.empty()) return false;
  const char last = n.back();
  return std::isdigit(static_cast<unsigned char>(last)) && number_prefix_ok(n);
}

}  // namespace

void JsonPrefixValidator::end_value() {
  mode_ = stack_.empty() ? Mode::Done : Mode::AfterValue;
}

bool JsonPrefixValidator::feed(unsigned char c) {
  JsonPrefixValidator saved = *this;
  if (feed_impl(c)) return true;
  *this = saved;
  return false;
}

bool JsonPrefixValidator::feed(const std::string& s) {
  JsonPrefixValidator saved = *this;
  for (unsigned char c : s)
    if (!feed_impl(c)) {
      *this = saved;
      return false;
    }
  return true;
}

bool JsonPrefixValidator::complete() const { return mode_ == Mode::Done; }

bool JsonPrefixValidator::feed_impl(unsigned char c) {
  if (mode_ != Mode::String && mode_ != Mode::StringEscape && mode_ != Mode::StringUnicode && mode_ != Mode::Number &&
      mode_ != Mode::Literal) {
    if (is_ws(c)) {
      if (mode_ == Mode::Done) return false;  // nothing after the value
      return ++whitespace_run_ <= kMaxWhitespaceRun;
    }
    whitespace_run_ = 0;
  }
  switch (mode_) {
    case Mode::Done:
      return false;
    case Mode::Value:
    case Mode::ObjectKeyOrEnd:
    case Mode::ObjectKey:
      if (mode_ != Mode::Value) {
        if (c == '}' && mode_ == Mode::ObjectKeyOrEnd) {
          stack_.pop_back();
          end_value();
          return true;
        }
        if (c != '"') return false;
        in_key_ = true;
        mode_ = Mode::String;
        return true;
      }
      if (!started_ && object_only_ && c != '{') return false;
      started_ = true;
      if (c == '{' || c == '[') {
        if (stack_.size() >= kMaxDepth) return false;
        stack_.push_back(static_cast<char>(c));
        mode_ = c == '{' ? Mode::ObjectKeyOrEnd : Mode::Value;
        empty_array_ = c == '[';
        return true;
      }
      if (c == ']' && empty_array_) {
        empty_array_ = false;
        stack_.pop_back();
        end_value();
        return true;
      }
      empty_array_ = false;
      if (c == '"') {
        in_key_ = false;
        mode_ = Mode::String;
        return true;
      }
      if (c == '-' || std::isdigit(c)) {
        number_.assign(1, static_cast<char>(c));
        mode_ = Mode::Number;
        return true;
      }
      for (const char* word : {"true", "false", "null"})
        if (c == static_cast<unsigned char>(word[0])) {
          literal_ = word + 1;
          mode_ = Mode::Literal;
          return true;
        }
      return false;
    case Mode::String:
      if (c == '"') {
        if (in_key_) {
          in_key_ = false;
          mode_ = Mode::Colon;
        } else {
          end_value();
        }
        return true;
      }
      if (c == '\\') {
        mode_ = Mode::StringEscape;
        return true;
      }
      return c >= 0x20;  // control characters must be escaped
    case Mode::StringEscape:
      if (c == 'u') {
        unicode_left_ = 4;
        mode_ = Mode::StringUnicode;
        return true;
      }
      if (std::strchr("\"\\/bfnrt", c) && c) {
        mode_ = Mode::String;
        return true;
      }
      return false;
    case Mode::StringUnicode:
      if (!std::isxdigit(c)) return false;
      if (--unicode_left_ == 0) mode_ = Mode::String;
      return true;
    case Mode::Colon:
      if (c != ':') return false;
      mode_ = Mode::Value;
      return true;
    case Mode::Number: {
      std::string next = number_ + static_cast<char>(c);
      if (number_prefix_ok(next) && next.size() < 64) {
        number_ = std::move(next);
        return true;
      }
      if (!number_complete(number_)) return false;
      if (stack_.empty()) return false;  // a bare top-level number never ends cleanly
      mode_ = Mode::AfterValue;
      return feed_impl(c);
    }
    case Mode::Literal:
      if (literal_.empty() || c != static_cast<unsigned char>(literal_[0])) return false;
      literal_.erase(0, 1);
      if (literal_.empty()) end_value();
      return true;
    case Mode::AfterValue:
      if (stack_.empty()) return false;
      if (c == ',') {
        mode_ = stack_.back() == '{' ? Mode::ObjectKey : Mode::Value;
        return true;
      }
      if ((c == '}' && stack_.back() == '{') || (c == ']' && stack_.back() == '[')) {
        stack_.pop_back();
        end_value();
        return true;
      }
      return false;
  }
  return false;
}

std::shared_ptr<const std::vector<std::string>> token_pieces(const Tokenizer& tokenizer) {
  auto pieces = std::make_shared<std::vector<std::string>>(tokenizer.n_vocab());
  for (int32_t i = 0; i < tokenizer.n_vocab(); ++i)
    if (!tokenizer.is_control(i)) (*pieces)[i] = tokenizer.token_to_piece(i);
  return pieces;
}

JsonConstraint::JsonConstraint(std::shared_ptr<const std::vector<std::string>> pieces) : pieces_(std::move(pieces)) {}

void JsonConstraint::mask(const Tokenizer& tokenizer, float* logits, int64_t n_vocab) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n_vocab; ++i) {
    if (logits[i] == neg_inf) continue;
    const std::string& piece = i < static_cast<int64_t>(pieces_->size()) ? (*pieces_)[i] : std::string();
    if (tokenizer.is_end_of_generation(static_cast<int32_t>(i))) {
      if (!state_.complete()) logits[i] = neg_inf;
      continue;
    }
    JsonPrefixValidator probe = state_;
    if (piece.empty() || !probe.feed(piece)) logits[i] = neg_inf;
  }
}

void JsonConstraint::accept(const Tokenizer& tokenizer, int32_t token) {
  if (token >= 0 && token < static_cast<int32_t>(pieces_->size())) state_.feed((*pieces_)[token]);
}

}  // namespace citadel
