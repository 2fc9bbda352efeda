// One line of a JSONL file through redaction: what `citadel redact` does to each record.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "gateway/pii_json.h"
#include "gateway/pii_redactor.h"

namespace citadel {

struct JsonlRedaction {
  enum Kind { Written, Blank, Malformed } kind = Written;
  bool changed = false;  // some field held PII (`out` is the record re-serialised, keys in order)
  std::string error;     // Malformed: why, without any of the line's text (it may hold PII)
};

// Blank lines (spaces, tabs, a trailing CR) are Blank; a line that is not a JSON object is
// Malformed. Otherwise `out` gets the line to write (without newline): the line itself when no
// field held PII, else the redacted record. The redactor is cleared first: numbering is per line,
// and its counts() are this line's afterwards.
JsonlRedaction redact_jsonl_line(std::string_view line, const std::vector<JsonFieldPath>& paths, PiiRedactor& redactor,
                                 std::string& out);

}  // namespace citadel
