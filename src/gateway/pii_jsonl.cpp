#include "gateway/pii_jsonl.h"

#include <nlohmann/json.hpp>

namespace citadel {

JsonlRedaction redact_jsonl_line(std::string_view line, const std::vector<JsonFieldPath>& paths, PiiRedactor& redactor,
                                 std::string& out) {
  using nlohmann::ordered_json;
  JsonlRedaction r;
  redactor.clear();
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) {
    r.kind = JsonlRedaction::Blank;
    return r;
  }
  ordered_json doc = ordered_json::parse(line, nullptr, false);
  if (doc.is_discarded()) {
    r.kind = JsonlRedaction::Malformed;
    r.error = "not JSON";
    try {
      const ordered_json again = ordered_json::parse(line);  // throws: the error message is wanted
    } catch (const ordered_json::exception& e) {
      // The kind and position only: what the parser last read is the line's text.
      const std::string what = e.what();
      r.error += ": " + what.substr(0, what.find("; last read"));
    }
    return r;
  }
  if (!doc.is_object()) {
    r.kind = JsonlRedaction::Malformed;
    r.error = "not a JSON object";
    return r;
  }
  r.changed = redact_json_fields(doc, paths, redactor) > 0;
  if (r.changed) {
    out = doc.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  } else {
    out.assign(line);
  }
  return r;
}

}  // namespace citadel
