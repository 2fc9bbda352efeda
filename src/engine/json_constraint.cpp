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

namespace {
const std::vector<std::string> kTrueFalse{"true", "false"}, kNull{"null"};

uint8_t kind_of_start(unsigned char c) {
  switch (c) {
    case '{': return JsonSchema::kObject;
    case '[': return JsonSchema::kArray;
    case '"': return JsonSchema::kString;
    case 't': case 'f': return JsonSchema::kBoolean;
    case 'n': return JsonSchema::kNull;
    default: return c == '-' || std::isdigit(c) ? JsonSchema::kNumber | JsonSchema::kInteger : 0;
  }
}
}  // namespace

JsonValidator::JsonValidator(std::shared_ptr<const JsonSchema> schema) : schema_(std::move(schema)) {
  push_value(schema_->root());
}

bool JsonValidator::feed(unsigned char c) {
  JsonValidator saved = *this;
  if (step(c)) return true;
  *this = std::move(saved);
  return false;
}

bool JsonValidator::feed(const std::string& s) {
  JsonValidator saved = *this;
  for (unsigned char c : s)
    if (!step(c)) {
      *this = std::move(saved);
      return false;
    }
  return true;
}

bool JsonValidator::accepts(const std::string& s) const {
  JsonValidator probe = *this;
  for (unsigned char c : s)
    if (!probe.step(c)) return false;
  return true;
}

bool JsonValidator::push_value(int node) {
  if (stack_.size() >= kMaxDepth) return false;
  Frame f;
  f.node = node;
  stack_.push_back(std::move(f));
  return true;
}

void JsonValidator::end_value() {
  stack_.pop_back();
  if (stack_.empty()) done_ = true;
}

bool JsonValidator::can_start(int node, unsigned char c, int depth) const {
  if (node == JsonSchema::kAny) return kind_of_start(c) != 0;
  if (depth > 64) return false;
  const JsonSchema::Node& n = schema_->node(node);
  if (!n.alternatives.empty()) {
    for (int a : n.alternatives)
      if (can_start(a, c, depth + 1)) return true;
    return false;
  }
  if (!n.literals.empty()) {
    for (const std::string& lit : n.literals)
      if (static_cast<unsigned char>(lit[0]) == c) return true;
    return false;
  }
  return (kind_of_start(c) & n.kinds) != 0;
}

bool JsonValidator::object_can_continue(const Frame& f) const {
  if (f.node == JsonSchema::kAny) return true;
  const JsonSchema::Node& n = schema_->node(f.node);
  if (n.extra_keys) return true;
  for (size_t i = 0; i < n.keys.size(); ++i)
    if (!(f.seen >> i & 1)) return true;
  return false;
}

bool JsonValidator::object_can_close(const Frame& f) const {
  if (f.node == JsonSchema::kAny) return true;
  const JsonSchema::Node& n = schema_->node(f.node);
  for (size_t i = 0; i < n.keys.size(); ++i)
    if (n.required[i] && !(f.seen >> i & 1)) return false;
  return true;
}

// The first byte of a value: picks the alternative and the kind of value it starts.
bool JsonValidator::start_value(Frame& f, unsigned char c) {
  for (int depth = 0; f.node != JsonSchema::kAny && !schema_->node(f.node).alternatives.empty(); ++depth) {
    if (depth > 64) return false;
    int pick = -3;
    for (int a : schema_->node(f.node).alternatives)
      if (can_start(a, c)) {
        pick = a;
        break;
      }
    if (pick == -3) return false;
    f.node = pick;
  }
  if (!can_start(f.node, c)) return false;
  f.text.assign(1, static_cast<char>(c));
  if (f.node != JsonSchema::kAny && !schema_->node(f.node).literals.empty()) {
    f.phase = Phase::Literal;
    f.literals = &schema_->node(f.node).literals;
  } else if (c == '{') {
    f.phase = Phase::ObjectKeyOrEnd;
  } else if (c == '[') {
    f.phase = Phase::ArrayValueOrEnd;
  } else if (c == '"') {
    f.phase = Phase::String;
  } else if (c == 't' || c == 'f' || c == 'n') {
    f.phase = Phase::Literal;
    f.literals = c == 'n' ? &kNull : &kTrueFalse;
  } else {
    f.phase = Phase::Number;
    f.integer = f.node != JsonSchema::kAny && !(schema_->node(f.node).kinds & JsonSchema::kNumber);
    return true;
  }
  if (f.phase == Phase::Literal) {  // a one-byte literal (an enum of 1, say) is already whole
    bool exact = false, longer = false;
    for (const std::string& lit : *f.literals) {
      exact |= lit == f.text;
      longer |= lit.size() > 1 && lit[0] == f.text[0];
    }
    if (exact && !longer) end_value();
  }
  return true;
}

bool JsonValidator::step(unsigned char c) {
  if (stack_.empty()) return false;  // nothing after the value
  Frame& f = stack_.back();
  const bool structural = f.phase != Phase::String && f.phase != Phase::StringEscape && f.phase != Phase::StringUnicode &&
                          f.phase != Phase::Number && f.phase != Phase::Literal && f.phase != Phase::Key;
  if (structural) {
    if (is_ws(c)) return ++whitespace_run_ <= kMaxWhitespaceRun;
    whitespace_run_ = 0;
  }
  const JsonSchema::Node* n = f.node == JsonSchema::kAny ? nullptr : &schema_->node(f.node);
  switch (f.phase) {
    case Phase::Value:
      return start_value(f, c);
    case Phase::ObjectKeyOrEnd:
    case Phase::ObjectKey:
      if (c == '}' && f.phase == Phase::ObjectKeyOrEnd && object_can_close(f)) {
        end_value();
        return true;
      }
      if (c != '"' || !object_can_continue(f)) return false;
      f.phase = Phase::Key;
      f.text.clear();
      return true;
    case Phase::Key: {
      if (c == '\\' || c < 0x20) return false;  // keys are plain text
      const bool extra = !n || n->extra_keys;
      if (c != '"') {
        f.text.push_back(static_cast<char>(c));
        if (extra) return true;
        for (size_t i = 0; i < n->keys.size(); ++i)
          if (!(f.seen >> i & 1) && n->keys[i].compare(0, f.text.size(), f.text) == 0) return true;
        f.text.pop_back();
        return false;
      }
      f.key = -2;
      for (size_t i = 0; n && i < n->keys.size(); ++i)
        if (n->keys[i] == f.text) {
          if (f.seen >> i & 1) return false;  // no key twice
          f.key = static_cast<int>(i);
        }
      if (f.key == -2 && !extra) return false;
      f.phase = Phase::Colon;
      return true;
    }
    case Phase::Colon: {
      if (c != ':') return false;
      int value_node = JsonSchema::kAny;
      if (n && f.key >= 0) {
        f.seen |= uint64_t{1} << f.key;
        value_node = n->key_nodes[static_cast<size_t>(f.key)];
      } else if (n) {
        value_node = n->extra_node;
      }
      f.phase = Phase::ObjectCommaOrEnd;
      return push_value(value_node);
    }
    case Phase::ObjectCommaOrEnd:
      if (c == ',' && object_can_continue(f)) {
        f.phase = Phase::ObjectKey;
        return true;
      }
      if (c == '}' && object_can_close(f)) {
        end_value();
        return true;
      }
      return false;
    case Phase::ArrayValueOrEnd:
    case Phase::ArrayValue: {
      const int64_t min_items = n ? n->min_items : 0, max_items = n ? n->max_items : -1;
      if (c == ']' && f.phase == Phase::ArrayValueOrEnd && f.count >= min_items) {
        end_value();
        return true;
      }
      if (max_items >= 0 && f.count >= max_items) return false;
      const int items = n ? n->items : JsonSchema::kAny;
      if (!can_start(items, c)) return false;
      ++f.count;
      f.phase = Phase::ArrayCommaOrEnd;
      if (!push_value(items)) return false;
      return step(c);
    }
    case Phase::ArrayCommaOrEnd: {
      const int64_t min_items = n ? n->min_items : 0, max_items = n ? n->max_items : -1;
      if (c == ',' && (max_items < 0 || f.count < max_items)) {
        f.phase = Phase::ArrayValue;
        return true;
      }
      if (c == ']' && f.count >= min_items) {
        end_value();
        return true;
      }
      return false;
    }
    case Phase::String:
      if (c == '"') {
        end_value();
        return true;
      }
      if (c == '\\') {
        f.phase = Phase::StringEscape;
        return true;
      }
      return c >= 0x20;  // control characters must be escaped
    case Phase::StringEscape:
      if (c == 'u') {
        f.unicode_left = 4;
        f.phase = Phase::StringUnicode;
        return true;
      }
      if (c && std::strchr("\"\\/bfnrt", c)) {
        f.phase = Phase::String;
        return true;
      }
      return false;
    case Phase::StringUnicode:
      if (!std::isxdigit(c)) return false;
      if (--f.unicode_left == 0) f.phase = Phase::String;
      return true;
    case Phase::Number: {
      const bool fraction = c == '.' || c == 'e' || c == 'E';
      std::string next = f.text + static_cast<char>(c);
      if (!(f.integer && fraction) && number_prefix_ok(next) && next.size() < 64) {
        f.text = std::move(next);
        return true;
      }
      if (!number_complete(f.text) || stack_.size() < 2) return false;  // a bare top-level number never ends
      end_value();
      return step(c);
    }
    case Phase::Literal: {
      const std::string next = f.text + static_cast<char>(c);
      bool prefix = false, exact = false, longer = false;
      for (const std::string& lit : *f.literals) {
        if (lit.compare(0, next.size(), next) == 0) {
          prefix = true;
          exact |= lit.size() == next.size();
          longer |= lit.size() > next.size();
        }
      }
      if (prefix) {
        f.text = next;
        if (exact && !longer) end_value();
        return true;
      }
      bool whole = false;
      for (const std::string& lit : *f.literals) whole |= lit == f.text;
      if (!whole) return false;
      end_value();
      return step(c);
    }
  }
  return false;
}

std::shared_ptr<const std::vector<std::string>> token_pieces(const Tokenizer& tokenizer) {
  auto pieces = std::make_shared<std::vector<std::string>>(tokenizer.n_vocab());
  for (int32_t i = 0; i < tokenizer.n_vocab(); ++i)
    if (!tokenizer.is_control(i)) (*pieces)[i] = tokenizer.token_to_piece(i);
  return pieces;
}

JsonConstraint::JsonConstraint(std::shared_ptr<const std::vector<std::string>> pieces,
                               std::shared_ptr<const JsonSchema> schema)
    : pieces_(std::move(pieces)), state_(std::move(schema)) {}

void JsonConstraint::mask(const Tokenizer& tokenizer, float* logits, int64_t n_vocab) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n_vocab; ++i) {
    if (logits[i] == neg_inf) continue;
    const std::string& piece = i < static_cast<int64_t>(pieces_->size()) ? (*pieces_)[i] : std::string();
    if (tokenizer.is_end_of_generation(static_cast<int32_t>(i))) {
      if (!state_.complete()) logits[i] = neg_inf;
      continue;
    }
    if (piece.empty() || !state_.accepts(piece)) logits[i] = neg_inf;
  }
}

void JsonConstraint::accept(const Tokenizer& tokenizer, int32_t token) {
  if (token >= 0 && token < static_cast<int32_t>(pieces_->size())) state_.feed((*pieces_)[token]);
}

}  // namespace citadel
