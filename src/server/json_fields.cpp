#include "server/json_fields.h"

#include <cmath>

#include "server/api_error.h"

namespace citadel {
namespace {
const nlohmann::json* field_of(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}
}  // namespace

nlohmann::json parse_json_body(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) throw ApiError(400, "the request body is not valid JSON", "", "invalid_json");
  if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object", "", "invalid_json");
  return j;
}

bool get_bool(const nlohmann::json& j, const char* field, bool def) {
  const nlohmann::json* v = field_of(j, field);
  if (!v) return def;
  if (!v->is_boolean()) throw invalid_field(field, "must be a boolean");
  return v->get<bool>();
}

int64_t get_int(const nlohmann::json& j, const char* field, int64_t def, int64_t min, int64_t max) {
  const nlohmann::json* v = field_of(j, field);
  if (!v) return def;
  if (!v->is_number_integer() && !(v->is_number_float() && std::floor(v->get<double>()) == v->get<double>()))
    throw invalid_field(field, "must be an integer");
  const double d = v->get<double>();
  if (d < static_cast<double>(min) || d > static_cast<double>(max))
    throw invalid_field(field, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return v->is_number_integer() ? v->get<int64_t>() : static_cast<int64_t>(d);
}

double get_number(const nlohmann::json& j, const char* field, double def, double min, double max) {
  const nlohmann::json* v = field_of(j, field);
  if (!v) return def;
  if (!v->is_number()) throw invalid_field(field, "must be a number");
  const double d = v->get<double>();
  if (!(d >= min && d <= max)) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "must be between %g and %g", min, max);
    throw invalid_field(field, buf);
  }
  return d;
}

std::string get_string(const nlohmann::json& j, const char* field, const std::string& def) {
  return get_optional_string(j, field).value_or(def);
}

std::optional<std::string> get_optional_string(const nlohmann::json& j, const char* field) {
  const nlohmann::json* v = field_of(j, field);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw invalid_field(field, "must be a string");
  return v->get<std::string>();
}

std::vector<std::string> get_string_or_list(const nlohmann::json& j, const char* field, size_t max_items) {
  const nlohmann::json* v = field_of(j, field);
  if (!v) return {};
  if (v->is_string()) return {v->get<std::string>()};
  if (!v->is_array()) throw invalid_field(field, "must be a string or an array of strings");
  if (v->size() > max_items) throw invalid_field(field, "may hold at most " + std::to_string(max_items) + " items");
  std::vector<std::string> out;
  for (const auto& item : *v) {
    if (!item.is_string()) throw invalid_field(field, "must be a string or an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::string required_string(const nlohmann::json& j, const char* field) {
  auto s = get_optional_string(j, field);
  if (!s) throw ApiError(400, std::string("'") + field + "' is required", field, "missing_field");
  return *s;
}

}  // namespace citadel
