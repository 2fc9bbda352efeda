#include "gateway/pii_stream_redactor.h"

namespace citadel {
namespace {

bool word_byte(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool utf8_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

std::string PiiStreamRedactor::push(std::string_view chunk) {
  held_.append(chunk);
  if (held_.size() <= kHoldBytes) return "";
  size_t cut = held_.size() - kHoldBytes;
  for (const PiiSpan& s : detector_.detect(held_))
    if (s.begin < cut && cut < s.end) cut = s.begin;  // a value across the cut goes out whole, later
  // Not inside a run of letters and digits (the rest of a number may change what it is), nor
  // inside a UTF-8 character.
  while (cut > 0 && cut < held_.size() && word_byte(held_[cut - 1]) && word_byte(held_[cut])) --cut;
  while (cut > 0 && cut < held_.size() && utf8_continuation(static_cast<unsigned char>(held_[cut]))) --cut;
  if (cut == 0 && held_.size() > kMaxHeld) cut = held_.size() - kHoldBytes;  // no boundary at all
  while (cut > 0 && cut < held_.size() && utf8_continuation(static_cast<unsigned char>(held_[cut]))) --cut;
  if (cut == 0) return "";
  std::string out = redact_after_context(std::string_view(held_).substr(0, cut));
  held_.erase(0, cut);
  return out;
}

std::string PiiStreamRedactor::finish() {
  std::string out = redact_after_context(held_);
  held_.clear();
  return out;
}

std::string PiiStreamRedactor::redact_after_context(std::string_view piece) {
  // Detect with the context in view, replace only what lies in the piece (the context was sent).
  const std::string text = context_ + std::string(piece);
  std::vector<PiiSpan> spans;
  for (PiiSpan s : detector_.detect(text)) {
    if (s.begin < context_.size()) continue;
    s.begin -= context_.size(), s.end -= context_.size();
    spans.push_back(std::move(s));
  }
  std::string out = redactor_.redact_spans(piece, spans);
  context_ += piece;
  if (context_.size() > kContextBytes) {
    size_t from = context_.size() - kContextBytes;
    while (from < context_.size() && utf8_continuation(static_cast<unsigned char>(context_[from]))) ++from;
    context_.erase(0, from);
  }
  return out;
}

}  // namespace citadel
