// libFuzzer target: the credential parsers (gateway/auth_header.h) on any header value. Never
// crash; a token they return is non-empty, at most kMaxTokenBytes, made of b64token characters
// only and taken verbatim from the value (nothing invented, nothing decoded).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/auth_header.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void check(const std::optional<std::string>& token, std::string_view value) {
  if (!token) return;
  require(!token->empty() && token->size() <= citadel::kMaxTokenBytes);
  require(value.find(*token) != std::string_view::npos);
  bool padding = false;
  for (char c : *token) {
    const bool base = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    require(c == '=' || (base && !padding));  // '=' only as trailing padding
    padding = padding || c == '=';
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  check(citadel::bearer_token(value), value);
  check(citadel::api_key_header(value), value);
  const std::string with_scheme = "Bearer " + std::string(value);  // reach the token grammar often
  check(citadel::bearer_token(with_scheme), with_scheme);
  return 0;
}
