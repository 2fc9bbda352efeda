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
  bool changed = false;  // some string held PII
  std::string error;     // Malformed: why and at which byte, never the line's text (it may hold PII)
};

// Blank lines (spaces, tabs, a trailing CR) are Blank; a line that is not one JSON object
// (validated as strictly as nlohmann::json::parse) is Malformed. Otherwise `out` gets the line to
// write, without newline and trailing CR: the line's own bytes with each string that held PII
// replaced by its redacted form (re-escaped; every other byte as it was). The field paths work as
// in pii_json.h. The redactor is cleared first: numbering is per line, and its counts() are this
// line's afterwards.
JsonlRedaction redact_jsonl_line(std::string_view line, const std::vector<JsonFieldPath>& paths, PiiRedactor& redactor,
                                 std::string& out);

}  // namespace citadel
