#include "gateway/auth_header.h"

namespace citadel {
namespace {

bool token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~' || c == '+' || c == '/';
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
std::optional<std::string> valid_token(std::string_view t) {
  if (t.empty() || t.size() > kMaxTokenBytes) return std::nullopt;
  size_t i = 0;
  while (i < t.size() && token_char(t[i])) ++i;
  if (i == 0) return std::nullopt;
  while (i < t.size() && t[i] == '=') ++i;
  if (i != t.size()) return std::nullopt;
  return std::string(t);
}

}  // namespace

std::optional<std::string> bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() > kMaxTokenBytes + 64) return std::nullopt;
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return std::nullopt;
  }
  std::string_view rest = authorization.substr(kScheme.size());
  if (rest.front() != ' ') return std::nullopt;
  return valid_token(trim_spaces(rest));
}

std::optional<std::string> api_key_header(std::string_view value) {
  if (value.size() > kMaxTokenBytes + 64) return std::nullopt;
  return valid_token(trim_spaces(value));
}

}  // namespace citadel
