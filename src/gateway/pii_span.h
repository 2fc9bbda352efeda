// One piece of personal data found in a text: its type, where it is (bytes) and its text.
#pragma once
#include <cstddef>
#include <string>

namespace citadel {

struct PiiSpan {
  std::string type;   // "PHONE", "CN_ID", ... or a dictionary's / custom regex's type
  size_t begin = 0;   // byte offsets into the UTF-8 text: [begin, end)
  size_t end = 0;
  std::string value;  // text.substr(begin, end - begin)
};

// The built-in types (the placeholders are [TYPE_N]).
namespace pii_type {
inline constexpr const char* kEmail = "EMAIL";
inline constexpr const char* kPhone = "PHONE";
inline constexpr const char* kCnId = "CN_ID";
inline constexpr const char* kBankCard = "BANK_CARD";
inline constexpr const char* kIban = "IBAN";
inline constexpr const char* kUsSsn = "US_SSN";
inline constexpr const char* kIp = "IP";
}  // namespace pii_type

}  // namespace citadel
