#include "gateway/pii_json.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace citadel {

namespace {

template <class Json>
size_t redact_all(Json& v, PiiRedactor& r, std::vector<PiiSpan>& spans) {
  if (v.is_string()) {
    std::string out = r.redact(v.template get_ref<const std::string&>(), &spans);
    if (spans.empty()) return 0;
    v = std::move(out);
    return spans.size();
  }
  size_t n = 0;
  if (v.is_array() || v.is_object())
    for (auto& child : v) n += redact_all(child, r, spans);
  return n;
}

template <class Json>
size_t redact_at(Json& v, const JsonFieldPath& path, size_t depth, PiiRedactor& r, std::vector<PiiSpan>& spans) {
  if (depth == path.size()) return redact_all(v, r, spans);
  const std::string& seg = path[depth];
  size_t n = 0;
  if (seg == "*") {
    if (v.is_array() || v.is_object())
      for (auto& child : v) n += redact_at(child, path, depth + 1, r, spans);
  } else if (v.is_object()) {
    auto it = v.find(seg);
    if (it != v.end()) n += redact_at(*it, path, depth + 1, r, spans);
  }
  return n;
}

}  // namespace

std::vector<JsonFieldPath> parse_json_field_paths(std::string_view list) {
  if (list.empty()) throw std::invalid_argument("no field paths given");
  std::vector<JsonFieldPath> paths;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    const std::string_view field = list.substr(start, comma - start);
    JsonFieldPath path;
    size_t s = 0;
    while (s <= field.size()) {
      size_t dot = field.find('.', s);
      if (dot == std::string_view::npos) dot = field.size();
      if (dot == s) throw std::invalid_argument("empty segment in field path '" + std::string(field) + "'");
      path.emplace_back(field.substr(s, dot - s));
      s = dot + 1;
    }
    paths.push_back(std::move(path));
    start = comma + 1;
  }
  return paths;
}

template <class Json>
size_t redact_json_fields(Json& doc, const std::vector<JsonFieldPath>& paths, PiiRedactor& redactor) {
  std::vector<PiiSpan> spans;
  size_t n = 0;
  for (const auto& p : paths) n += redact_at(doc, p, 0, redactor, spans);
  return n;
}

template size_t redact_json_fields(nlohmann::json&, const std::vector<JsonFieldPath>&, PiiRedactor&);
template size_t redact_json_fields(nlohmann::ordered_json&, const std::vector<JsonFieldPath>&, PiiRedactor&);

}  // namespace citadel
