// SHA-256 and HMAC-SHA256 (OpenSSL) as lowercase hex, for key hashes and the audit trail.
#pragma once
#include <string>
#include <string_view>

namespace citadel {

std::string sha256_hex(std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
std::string to_hex(const unsigned char* bytes, size_t n);

}  // namespace citadel
