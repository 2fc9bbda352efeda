#include "gateway/api_key.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

#include "gateway/digest.h"

namespace citadel {
namespace {

constexpr std::string_view kPrefix = "ctd_";
constexpr size_t kIdChars = 12, kSecretBytes = 32, kSecretChars = 43;

std::vector<unsigned char> random_bytes(size_t n) {
  std::vector<unsigned char> b(n);
  if (RAND_bytes(b.data(), static_cast<int>(n)) != 1) throw std::runtime_error("OpenSSL RAND_bytes failed");
  return b;
}

std::string base64url(const std::vector<unsigned char>& b) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : b) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) out += kAlphabet[(acc >> (bits -= 6)) & 63];
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_b64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::string random_hex(size_t n_bytes) {
  const auto b = random_bytes(n_bytes);
  return to_hex(b.data(), b.size());
}

GeneratedKey generate_api_key(const std::string& id) {
  GeneratedKey k;
  k.id = id;
  k.key = std::string(kPrefix) + id + "_" + base64url(random_bytes(kSecretBytes));
  k.hash = key_hash(k.key);
  return k;
}

GeneratedKey generate_api_key() { return generate_api_key(random_hex(kIdChars / 2)); }

std::optional<std::string> api_key_id(std::string_view key) {
  if (key.size() != kPrefix.size() + kIdChars + 1 + kSecretChars || key.substr(0, kPrefix.size()) != kPrefix)
    return std::nullopt;
  const std::string_view id = key.substr(kPrefix.size(), kIdChars);
  for (char c : id)
    if (!is_hex(c)) return std::nullopt;
  if (key[kPrefix.size() + kIdChars] != '_') return std::nullopt;
  for (char c : key.substr(kPrefix.size() + kIdChars + 1))
    if (!is_b64url(c)) return std::nullopt;
  return std::string(id);
}

std::string key_hash(std::string_view key) { return sha256_hex(key); }

bool hashes_equal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace citadel
