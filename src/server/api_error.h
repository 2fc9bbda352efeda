// Errors as the OpenAI API reports them: an HTTP status plus {"error": {message, type, param, code}}.
#pragma once
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace citadel {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string param = "", std::string code = "");
  int status() const { return status_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }
  std::string type() const;  // invalid_request_error, not_found_error, server_error, ...
  nlohmann::json body() const;

 private:
  int status_;
  std::string param_, code_;
};

// 400 naming the offending field.
inline ApiError invalid_field(const std::string& field, const std::string& why) {
  return ApiError(400, "'" + field + "' " + why, field, "invalid_value");
}

}  // namespace citadel
