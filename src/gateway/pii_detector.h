// Finds personal data in UTF-8 text: the built-in detectors of the config (e-mail, phone, Chinese
// ID, bank card, IBAN, US SSN, IP), its dictionaries and its custom regexes. Built once (dictionary
// files are read then), used by any number of threads.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/pii_config.h"
#include "gateway/pii_span.h"

namespace citadel {

class PiiDetector {
 public:
  // Throws std::invalid_argument for a bad type or regex, std::runtime_error for an unreadable file.
  explicit PiiDetector(const PiiConfig& config = {});
  ~PiiDetector();
  PiiDetector(const PiiDetector&) = delete;
  PiiDetector& operator=(const PiiDetector&) = delete;

  // The spans in text order, none overlapping. Where two detectors' findings overlap, the one
  // that starts first wins, then the longer, then the built-in detectors before dictionaries
  // before regexes. Any bytes are accepted (invalid UTF-8 is never matched across).
  std::vector<PiiSpan> detect(std::string_view text) const;

  // Every type this detector can report (built-in ones enabled, dictionary and regex types).
  const std::vector<std::string>& types() const { return types_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> types_;
};

}  // namespace citadel
