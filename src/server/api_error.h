// Errors as the OpenAI API reports them: an HTTP status plus {"error": {message, type, param, code}}.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace httplib {
struct Response;
}

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

// Each API answers errors in its own shape: OpenAI {"error": {message, type, param, code}},
// Anthropic {"type": "error", "error": {type, message}} (/v1/messages...), Ollama {"error": "..."}
// (/api/...). The whole server renders errors through error_reply(), so a refusal of any kind
// (bad body, auth, quota, draining, no route) reaches a client in the shape its SDK parses.
enum class ApiDialect { OpenAI, Anthropic, Ollama };
ApiDialect dialect_of(const std::string& path);

struct ErrorReply {
  int status;         // Anthropic's overload is 529, not 503
  std::string body;
  std::string content_type = "application/json";
};
nlohmann::json error_body(ApiDialect dialect, const ApiError& e);
ErrorReply error_reply(const std::string& path, const ApiError& e);
// Fills `res` with error_reply(): status, body, Retry-After (the error's, else 1 s on 503).
void send_error(httplib::Response& res, const std::string& path, const ApiError& e);
// A JSON answer with this status (invalid UTF-8 in strings replaced, never thrown on).
void send_json(httplib::Response& res, const nlohmann::json& j, int status = 200);

}  // namespace citadel
