#include "server/api_error.h"

#include <httplib.h>

namespace citadel {

ApiError::ApiError(int status, std::string message, std::string param, std::string code)
    : std::runtime_error(std::move(message)), status_(status), param_(std::move(param)), code_(std::move(code)) {}

std::string ApiError::type() const {
  switch (status_) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "invalid_request_error";
    case 429: return "rate_limit_error";
    case 503: return "server_overloaded_error";
    default: return status_ >= 500 ? "server_error" : "invalid_request_error";
  }
}

nlohmann::json ApiError::body() const {
  nlohmann::json e = {{"message", what()}, {"type", type()}};
  e["param"] = param_.empty() ? nlohmann::json(nullptr) : nlohmann::json(param_);
  e["code"] = code_.empty() ? nlohmann::json(nullptr) : nlohmann::json(code_);
  return {{"error", e}};
}

ApiDialect dialect_of(const std::string& path) {
  auto under = [&](const char* prefix) {
    const size_t n = std::char_traits<char>::length(prefix);
    return path.compare(0, n, prefix) == 0 && (path.size() == n || path[n] == '/');
  };
  if (under("/v1/messages")) return ApiDialect::Anthropic;
  if (under("/api")) return ApiDialect::Ollama;
  return ApiDialect::OpenAI;
}

namespace {

const char* anthropic_type(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 402: return "billing_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503: case 529: return "overloaded_error";
    case 504: return "timeout_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

}  // namespace

nlohmann::json error_body(ApiDialect dialect, const ApiError& e) {
  switch (dialect) {
    case ApiDialect::Anthropic:
      return {{"type", "error"}, {"error", {{"type", anthropic_type(e.status())}, {"message", e.what()}}}};
    case ApiDialect::Ollama: return {{"error", e.what()}};
    case ApiDialect::OpenAI: break;
  }
  return e.body();
}

ErrorReply error_reply(const std::string& path, const ApiError& e) {
  const ApiDialect d = dialect_of(path);
  const int status = d == ApiDialect::Anthropic && e.status() == 503 ? 529 : e.status();
  return {status, error_body(d, e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

}  // namespace citadel

namespace citadel {

void send_error(httplib::Response& res, const std::string& path, const ApiError& e) {
  ErrorReply r = error_reply(path, e);
  res.status = r.status;
  if (e.retry_after() > 0) res.set_header("Retry-After", std::to_string(e.retry_after()));
  else if (e.status() == 503 && !res.has_header("Retry-After")) res.set_header("Retry-After", "1");
  res.set_content(r.body, r.content_type);
}

void send_json(httplib::Response& res, const nlohmann::json& j, int status) {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

}  // namespace citadel
