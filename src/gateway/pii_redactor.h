// One request's redaction. redact() replaces every span the detector finds with a typed,
// numbered placeholder, [PHONE_1], [CN_ID_1], [EMAIL_2]: numbers count per type from 1, and the same
// value gets the same placeholder in every text this redactor sees (separators and ASCII case do
// not make values differ: "138 1234 5678" and "13812345678" are one phone). restore() puts the
// originals back (the first spelling seen). The originals live in this object only: make one per
// request, let it die with the request, never store it.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/pii_detector.h"
#include "gateway/pii_span.h"

namespace citadel {

class PiiRedactor {
 public:
  explicit PiiRedactor(const PiiDetector& detector);

  // The text with its spans replaced; `found` (if given) gets the spans, positions in `text`.
  std::string redact(std::string_view text, std::vector<PiiSpan>* found = nullptr);
  // The text with the given spans (in order, not overlapping, positions in `text`) replaced, as
  // redact() does with the spans it finds (for callers that detected with more context).
  std::string redact_spans(std::string_view text, const std::vector<PiiSpan>& spans);
  // The text with every placeholder of this redactor replaced by its original; everything else,
  // unknown placeholders included, is left as it is.
  std::string restore(std::string_view text) const;

  // Spans replaced so far, per type (each occurrence counts).
  const std::map<std::string, size_t>& counts() const { return counts_; }
  // Distinct values seen (placeholders handed out).
  size_t placeholders() const { return originals_.size(); }
  // The original value of a placeholder ("[PHONE_1]"), nullptr if this redactor did not make it.
  const std::string* original(std::string_view placeholder) const;
  // The longest placeholder handed out, in bytes (what a streaming restorer must hold back).
  size_t longest_placeholder() const { return longest_; }
  // Forgets every value (a new request on the same detector, e.g. the next line of a file).
  void clear();

 private:
  const std::string& placeholder_for(const PiiSpan& span);

  const PiiDetector& detector_;
  std::unordered_map<std::string, std::string> by_value_;   // type + '\n' + normalised value -> placeholder
  std::unordered_map<std::string, std::string> originals_;  // placeholder -> original
  std::map<std::string, size_t> next_;                      // per type: numbers handed out
  std::map<std::string, size_t> counts_;
  size_t longest_ = 0;
};

// Restores a streamed answer chunk by chunk. A placeholder may arrive split over chunks
// ("[PHO" + "NE_1]"): the tail that could still become one is held back until it is complete or
// cannot be. push() returns what can be sent now; finish() the rest.
class PiiStreamRestorer {
 public:
  explicit PiiStreamRestorer(const PiiRedactor& redactor) : redactor_(redactor) {}
  std::string push(std::string_view chunk);
  std::string finish();

 private:
  const PiiRedactor& redactor_;
  std::string held_;
};

}  // namespace citadel
