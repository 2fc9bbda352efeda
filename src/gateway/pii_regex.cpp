#define PCRE2_CODE_UNIT_WIDTH 8
#include "gateway/pii_regex.h"

#include <pcre2.h>

#include <stdexcept>

#include "tokenizer/utf8.h"

namespace citadel::pii {

struct RegexDetector::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

RegexDetector::RegexDetector(std::string type, const std::string& pattern)
    : type_(std::move(type)), code_(std::make_unique<Code>()) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  code_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                              &error, &offset, nullptr);
  if (!code_->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(error, msg, sizeof msg);
    throw std::invalid_argument("PII regex for " + type_ + " does not compile at offset " + std::to_string(offset) +
                                ": " + reinterpret_cast<const char*>(msg));
  }
  pcre2_jit_compile(code_->code, PCRE2_JIT_COMPLETE);  // best effort: the interpreter works too
}

RegexDetector::~RegexDetector() = default;
RegexDetector::RegexDetector(RegexDetector&&) noexcept = default;
RegexDetector& RegexDetector::operator=(RegexDetector&&) noexcept = default;

void RegexDetector::find(std::string_view text, std::vector<PiiSpan>& out) const {
  if (utf8::is_valid(text)) return find_valid(text, 0, out);
  size_t i = 0;
  while (i < text.size()) {  // valid stretches between invalid bytes
    size_t j = i;
    while (j < text.size()) {
      const size_t n = utf8::valid_length_at(text, j);
      if (n == 0) break;
      j += n;
    }
    if (j > i) find_valid(text.substr(i, j - i), i, out);
    i = j < text.size() ? j + std::max<size_t>(1, utf8::invalid_length_at(text, j)) : j;
  }
}

void RegexDetector::find_valid(std::string_view text, size_t offset, std::vector<PiiSpan>& out) const {
  std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> owner(
      pcre2_match_data_create_from_pattern(code_->code, nullptr), pcre2_match_data_free);
  pcre2_match_data* md = owner.get();
  if (!md) throw std::bad_alloc();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos <= text.size()) {
    int rc = pcre2_match(code_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
      rc = pcre2_match(code_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, nullptr);
    if (rc < 0) break;  // no match, or a match limit hit: nothing more from this pattern
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t b = ov[0], e = ov[1];
    if (e > b) out.push_back({type_, offset + b, offset + e, std::string(text.substr(b, e - b))});
    // Move on; after an empty match, by one whole character.
    pos = e > b ? e : e + std::max<size_t>(1, e < text.size() ? utf8::valid_length_at(text, e) : 1);
  }
}

}  // namespace citadel::pii
