// Custom detectors from configuration: a PCRE2 pattern (UTF, Unicode classes) whose every
// non-empty, non-overlapping match is reported as the configured type.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/pii_span.h"

namespace citadel::pii {

class RegexDetector {
 public:
  // Throws std::invalid_argument naming the type and the error offset when the pattern does not compile.
  RegexDetector(std::string type, const std::string& pattern);
  ~RegexDetector();
  RegexDetector(RegexDetector&&) noexcept;
  RegexDetector& operator=(RegexDetector&&) noexcept;

  const std::string& type() const { return type_; }
  // Thread-safe. Text that is not valid UTF-8 is searched in its valid stretches.
  void find(std::string_view text, std::vector<PiiSpan>& out) const;

 private:
  struct Code;
  void find_valid(std::string_view text, size_t offset, std::vector<PiiSpan>& out) const;
  std::string type_;
  std::unique_ptr<Code> code_;
};

}  // namespace citadel::pii
