#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pre_tokenizer.h"

#include <pcre2.h>

#include <stdexcept>

#include "tokenizer/utf8.h"

namespace citadel {

struct PreTokenizer::Pass {
  pcre2_code* code = nullptr;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
  ~Pass() { pcre2_code_free(code); }

  // Scratch space of pcre2_match, one per pass and split() call (so encode stays thread-safe).
  struct MatchData {
    pcre2_match_data* md;
    explicit MatchData(const pcre2_code* code) : md(pcre2_match_data_create_from_pattern(code, nullptr)) {
      if (!md) throw std::bad_alloc();
    }
    ~MatchData() { pcre2_match_data_free(md); }
    MatchData(const MatchData&) = delete;
    MatchData& operator=(const MatchData&) = delete;
  };

  struct Span {
    size_t begin, end;
    bool matched;
  };
  // Matched and unmatched spans of `text`, in order, covering it.
  std::vector<Span> spans(std::string_view text, MatchData& m) const;
  void apply(std::string_view text, MatchData& m, std::vector<std::string_view>& out) const;
  int match_once(std::string_view text, size_t start, uint32_t options, MatchData& m) const;
};

// One match at or after `start`; falls back to the interpreter when the JIT stack is too small.
int PreTokenizer::Pass::match_once(std::string_view text, size_t start, uint32_t options, MatchData& m) const {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  options |= PCRE2_NO_UTF_CHECK;  // split() only passes valid UTF-8 here
  int rc = pcre2_match(code, subject, text.size(), start, options, m.md, nullptr);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
    rc = pcre2_match(code, subject, text.size(), start, options | PCRE2_NO_JIT, m.md, nullptr);
  if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(rc, msg, sizeof msg);
    throw std::runtime_error(std::string("pre-tokenizer regex failed: ") + reinterpret_cast<const char*>(msg));
  }
  return rc;
}

std::vector<PreTokenizer::Pass::Span> PreTokenizer::Pass::spans(std::string_view text, MatchData& m) const {
  std::vector<Span> out;
  size_t pos = 0;       // where the next search starts
  size_t covered = 0;   // end of the text already assigned to spans
  uint32_t options = 0;
  while (pos <= text.size()) {
    const int rc = match_once(text, pos, options, m);
    if (rc == PCRE2_ERROR_NOMATCH) {
      if (options == 0) break;
      // An empty match was found at pos and no longer one there: step one character on.
      options = 0;
      pos += pos < text.size() ? std::max<size_t>(1, utf8::valid_length_at(text, pos)) : 1;
      continue;
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(m.md);
    const size_t begin = ov[0], end = ov[1];
    if (begin > covered) out.push_back({covered, begin, false});
    if (end > begin) out.push_back({begin, end, true});
    covered = std::max(covered, end);
    pos = end;
    // After an empty match, look for a non-empty one at the same place before moving on.
    options = end == begin ? (PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED) : 0;
  }
  if (covered < text.size()) out.push_back({covered, text.size(), false});
  return out;
}

void PreTokenizer::Pass::apply(std::string_view text, MatchData& m, std::vector<std::string_view>& out) const {
  auto piece = [&](size_t b, size_t e) { return text.substr(b, e - b); };
  std::vector<Span> list = spans(text, m);
  if (invert)
    for (auto& s : list) s.matched = !s.matched;

  // Pieces as [begin, end) ranges that later spans may extend.
  std::vector<std::pair<size_t, size_t>> ranges;
  bool glue_next = false;   // MergedWithNext: the last range waits for the following span
  bool last_matched = false;
  for (const Span& s : list) {
    const bool extend = !ranges.empty() &&
                        (glue_next || (s.matched && behavior == SplitBehavior::kMergedWithPrevious) ||
                         (s.matched && last_matched && behavior == SplitBehavior::kContiguous));
    glue_next = false;
    if (s.matched && behavior == SplitBehavior::kRemoved) {
      last_matched = true;
      continue;
    }
    if (extend) {
      ranges.back().second = s.end;
    } else {
      ranges.emplace_back(s.begin, s.end);
    }
    if (s.matched && behavior == SplitBehavior::kMergedWithNext) glue_next = true;
    last_matched = s.matched;
  }
  for (const auto& [b, e] : ranges)
    if (e > b) out.push_back(piece(b, e));
}

PreTokenizer::PreTokenizer() = default;
PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(const PreTokenizer&) = default;
PreTokenizer& PreTokenizer::operator=(const PreTokenizer&) = default;

void PreTokenizer::add_regex(const std::string& pattern, SplitBehavior behavior, bool invert) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  // UCP: \s, \d and \w follow Unicode; DOLLAR_ENDONLY: '$' is the end of the piece, as in std::regex.
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &error, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(error, msg, sizeof msg);
    throw std::invalid_argument("bad pre-tokenizer regex at offset " + std::to_string(offset) + ": " +
                                reinterpret_cast<const char*>(msg) + " in '" + pattern + "'");
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // best effort: the interpreter works too
  auto pass = std::make_shared<Pass>();
  pass->code = code;
  pass->behavior = behavior;
  pass->invert = invert;
  passes_.push_back(std::move(pass));
}

bool PreTokenizer::empty() const { return passes_.empty(); }

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  // Valid UTF-8 runs go through the regexes; each run of invalid bytes is a word as it is.
  std::vector<std::string_view> words;
  std::vector<bool> is_text;
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    const bool valid = utf8::valid_length_at(text, pos) > 0;
    while (pos < text.size() && (utf8::valid_length_at(text, pos) > 0) == valid)
      pos += valid ? utf8::valid_length_at(text, pos) : 1;
    words.push_back(text.substr(start, pos - start));
    is_text.push_back(valid);
  }
  for (const auto& pass : passes_) {
    Pass::MatchData m(pass->code);
    std::vector<std::string_view> next;
    std::vector<bool> next_is_text;
    for (size_t i = 0; i < words.size(); ++i) {
      if (!is_text[i]) {
        next.push_back(words[i]);
        next_is_text.push_back(false);
        continue;
      }
      pass->apply(words[i], m, next);
      next_is_text.resize(next.size(), true);
    }
    words = std::move(next);
    is_text = std::move(next_is_text);
  }
  return words;
}

}  // namespace citadel
