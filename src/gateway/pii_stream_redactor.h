// Redacts a streamed text chunk by chunk (an answer under redact-both, where PII the model writes
// itself must not reach the caller). The tail of what has arrived stays back until it cannot be
// part of a value still being written: at least kHoldBytes, and never a cut inside a found span
// or inside a run of letters and digits. The detectors read labels before a value ("SSN: ",
// "version "), so the last kContextBytes of what was sent stay as context for the next piece.
// push() returns what can be sent now, finish() the rest.
#pragma once
#include <string>
#include <string_view>

#include "gateway/pii_detector.h"
#include "gateway/pii_redactor.h"

namespace citadel {

class PiiStreamRedactor {
 public:
  static constexpr size_t kHoldBytes = 96;    // longer than any value the detectors validate
  static constexpr size_t kMaxHeld = 16384;  // a run with no boundary is cut here anyway
  static constexpr size_t kContextBytes = 32;

  // The redactor numbers the placeholders (share it with the prompt's to keep numbers consistent).
  PiiStreamRedactor(const PiiDetector& detector, PiiRedactor& redactor) : detector_(detector), redactor_(redactor) {}
  std::string push(std::string_view chunk);
  std::string finish();

 private:
  const PiiDetector& detector_;
  PiiRedactor& redactor_;
  std::string redact_after_context(std::string_view piece);  // and moves the context on
  std::string held_;
  std::string context_;  // the end of the raw text already sent
};

}  // namespace citadel
