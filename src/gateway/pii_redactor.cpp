#include "gateway/pii_redactor.h"

#include "gateway/pii_chars.h"

namespace citadel {

namespace {

bool placeholder_char(char c) { return pii::is_upper(c) || pii::is_digit(c) || c == '_'; }

// Spellings of one value that must share a placeholder.
std::string normalised(const PiiSpan& s) {
  std::string key = s.type + '\n';
  const bool digits_only = s.type == pii_type::kPhone || s.type == pii_type::kCnId || s.type == pii_type::kBankCard ||
                           s.type == pii_type::kUsSsn;
  for (char c : s.value) {
    if (digits_only) {
      if (pii::is_digit(c) || c == '+') key += c;
      else if (c == 'x' || c == 'X') key += 'X';
    } else if (s.type == pii_type::kIban) {
      if (c != ' ') key += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    } else {
      key += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
  }
  return key;
}

}  // namespace

PiiRedactor::PiiRedactor(const PiiDetector& detector) : detector_(detector) {}

const std::string& PiiRedactor::placeholder_for(const PiiSpan& span) {
  auto [it, fresh] = by_value_.try_emplace(normalised(span));
  if (fresh) {
    it->second = "[" + span.type + "_" + std::to_string(++next_[span.type]) + "]";
    originals_.emplace(it->second, span.value);
    longest_ = std::max(longest_, it->second.size());
  }
  return it->second;
}

std::string PiiRedactor::redact(std::string_view text, std::vector<PiiSpan>* found) {
  std::vector<PiiSpan> spans = detector_.detect(text);
  std::string out = redact_spans(text, spans);
  if (found) *found = std::move(spans);
  return out;
}

std::string PiiRedactor::redact_spans(std::string_view text, const std::vector<PiiSpan>& spans) {
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  for (const PiiSpan& s : spans) {
    out.append(text.substr(at, s.begin - at));
    out += placeholder_for(s);
    ++counts_[s.type];
    at = s.end;
  }
  out.append(text.substr(at));
  return out;
}

const std::string* PiiRedactor::original(std::string_view placeholder) const {
  auto it = originals_.find(std::string(placeholder));
  return it == originals_.end() ? nullptr : &it->second;
}

std::string PiiRedactor::restore(std::string_view text) const {
  if (originals_.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  for (size_t open = text.find('['); open != std::string_view::npos; open = text.find('[', open + 1)) {
    size_t close = open + 1;
    while (close < text.size() && close - open < longest_ && placeholder_char(text[close])) ++close;
    if (close >= text.size() || text[close] != ']') continue;
    const std::string* original = this->original(text.substr(open, close + 1 - open));
    if (!original) continue;
    out.append(text.substr(at, open - at));
    out += *original;
    at = close + 1;
    open = close;
  }
  out.append(text.substr(at));
  return out;
}

void PiiRedactor::clear() {
  by_value_.clear();
  originals_.clear();
  next_.clear();
  counts_.clear();
  longest_ = 0;
}

std::string PiiStreamRestorer::push(std::string_view chunk) {
  held_.append(chunk);
  // Hold back from the last '[' when what follows it could still grow into a placeholder.
  size_t keep = held_.size();
  const size_t open = held_.rfind('[');
  if (open != std::string::npos && held_.size() - open < redactor_.longest_placeholder()) {
    size_t i = open + 1;
    while (i < held_.size() && placeholder_char(held_[i])) ++i;
    if (i == held_.size()) keep = open;
  }
  std::string out = redactor_.restore(std::string_view(held_).substr(0, keep));
  held_.erase(0, keep);
  return out;
}

std::string PiiStreamRestorer::finish() {
  std::string out = redactor_.restore(held_);
  held_.clear();
  return out;
}

}  // namespace citadel
