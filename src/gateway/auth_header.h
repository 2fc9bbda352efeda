// Credentials from HTTP headers: "Authorization: Bearer <token>" (RFC 6750) or an API key header
// (x-api-key, as Anthropic's clients send). A pure parser, fuzzed: anything malformed is refused.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace citadel {

// Longest token accepted; longer headers are malformed (401), never copied around.
constexpr size_t kMaxTokenBytes = 256;

// The token of an "Authorization: Bearer <token>" value: the scheme case-insensitive, one or more
// spaces, then b64token characters (A-Z a-z 0-9 - . _ ~ + /, then '=' padding) up to the end,
// trailing spaces allowed. nullopt for any other scheme, an empty or oversized token, or a bad byte.
std::optional<std::string> bearer_token(std::string_view authorization);

// An x-api-key value: the same character set and bounds, surrounding spaces trimmed.
std::optional<std::string> api_key_header(std::string_view value);

}  // namespace citadel
