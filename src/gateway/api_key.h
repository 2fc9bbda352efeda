// API keys: "ctd_" + a 12-hex-digit public id + "_" + 43 characters of base64url secret (256
// random bits from OpenSSL's CSPRNG). The id names the key in listings, usage and the audit
// trail; only the SHA-256 of the whole key is stored, and compared in constant time.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace citadel {

struct GeneratedKey {
  std::string id;    // public: "3f9a0c1b2d4e"
  std::string key;   // secret: shown once, never stored
  std::string hash;  // key_hash(key)
};

GeneratedKey generate_api_key();
// A fresh key for an existing id (rotation).
GeneratedKey generate_api_key(const std::string& id);

// The public id of a well-formed key ("ctd_<12 hex>_<43 base64url>"), else nullopt.
std::optional<std::string> api_key_id(std::string_view key);
// Lowercase hex SHA-256 of the key.
std::string key_hash(std::string_view key);
// Constant-time equality of two hashes (OpenSSL CRYPTO_memcmp); false when the sizes differ.
bool hashes_equal(const std::string& a, const std::string& b);

// Random bytes from OpenSSL's CSPRNG as lowercase hex (2 * n digits); throws if it fails.
std::string random_hex(size_t n_bytes);

}  // namespace citadel
