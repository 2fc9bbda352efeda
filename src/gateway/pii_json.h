// Redacting the strings of a JSON document named by field paths: "text", "messages.*.content".
// A path is dot-separated; '*' stands for every element of an array or every member of an
// object. The value a path reaches is redacted whole: a string, or every string inside an array
// or object (keys stay). Paths that reach nothing are skipped.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "gateway/pii_redactor.h"

namespace citadel {

using JsonFieldPath = std::vector<std::string>;

// "text,messages.*.content" -> {{"text"}, {"messages", "*", "content"}}; throws
// std::invalid_argument for an empty list or an empty segment.
std::vector<JsonFieldPath> parse_json_field_paths(std::string_view comma_list);

// Redacts in place with `redactor` (one request, or one line of a file: its placeholders are
// shared by all the fields). Returns how many spans were replaced. Json is nlohmann::json or
// nlohmann::ordered_json.
template <class Json>
size_t redact_json_fields(Json& doc, const std::vector<JsonFieldPath>& paths, PiiRedactor& redactor);

}  // namespace citadel
