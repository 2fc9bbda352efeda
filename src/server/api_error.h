// Errors as the OpenAI API reports them: an HTTP status plus {"error": {message, type, param, code}}.
#pragma once
#include <cstdint>
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
  // Seconds for a Retry-After header (429, 503); 0: none (503 then says 1).
  int64_t retry_after() const { return retry_after_; }
  ApiError& with_retry_after(int64_t seconds) {
    retry_after_ = seconds;
    return *this;
  }

 private:
  int status_;
  std::string param_, code_;
  int64_t retry_after_ = 0;
};

// 400 naming the offending field.
inline ApiError invalid_field(const std::string& field, const std::string& why) {
  return ApiError(400, "'" + field + "' " + why, field, "invalid_value");
}

}  // namespace citadel
