// Typed access to the fields of a JSON request body. Each getter returns the default when the
// field is absent (or null) and throws a 400 ApiError naming the field when its type or range is wrong.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace citadel {

// Parses a request body; malformed JSON or a non-object gives a 400 ApiError.
nlohmann::json parse_json_body(const std::string& body);

bool get_bool(const nlohmann::json& j, const char* field, bool def);
int64_t get_int(const nlohmann::json& j, const char* field, int64_t def, int64_t min, int64_t max);
double get_number(const nlohmann::json& j, const char* field, double def, double min, double max);
std::string get_string(const nlohmann::json& j, const char* field, const std::string& def);
std::optional<std::string> get_optional_string(const nlohmann::json& j, const char* field);
// A string or an array of strings (OpenAI's "stop"), at most `max_items`.
std::vector<std::string> get_string_or_list(const nlohmann::json& j, const char* field, size_t max_items);
std::string required_string(const nlohmann::json& j, const char* field);

}  // namespace citadel
