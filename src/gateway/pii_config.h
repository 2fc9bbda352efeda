// What the PII detector looks for: which built-in detectors, which dictionaries, which custom
// regexes. Plain data, filled in code or from the JSON the server's configuration converts to:
//   {"detectors": ["email", "phone", "cn_id", "bank_card", "iban", "us_ssn", "ip"],
//    "dictionaries": [{"type": "NAME", "file": "names.txt"},
//                     {"type": "PROJECT", "terms": ["Blue Harbor"], "case_sensitive": true}],
//    "regexes": [{"type": "EMPLOYEE_ID", "pattern": "EMP-\\d{6}"}]}
// Every key is optional (no "detectors": all of them). Types are upper-cased and must then be
// [A-Z][A-Z0-9_]* (at most 32 characters): they become the placeholders, [EMPLOYEE_ID_1].
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace citadel {

struct PiiDictionaryConfig {
  std::string type = "NAME";
  std::vector<std::string> files;  // UTF-8, one term per line; blank lines and lines starting '#' skipped
  std::vector<std::string> terms;
  bool case_sensitive = false;     // ASCII letters; other characters always match exactly
};

struct PiiRegexConfig {
  std::string type;
  std::string pattern;  // PCRE2, compiled with UTF and Unicode character classes
};

// The built-in detector names: "email", "phone", "cn_id", "bank_card", "iban", "us_ssn", "ip"
// (each reports the type of its name in capitals).
const std::vector<std::string>& pii_builtin_detectors();

struct PiiConfig {
  std::vector<std::string> detectors = pii_builtin_detectors();
  std::vector<PiiDictionaryConfig> dictionaries;
  std::vector<PiiRegexConfig> regexes;
};

// Throws std::invalid_argument naming the offending key ("pii.regexes[1].pattern: ...").
// Relative dictionary files are taken from base_dir when it is not empty.
PiiConfig pii_config_from_json(const nlohmann::json& j, const std::string& base_dir = "");

// A type name upper-cased and checked ([A-Z][A-Z0-9_]*, 1-32 characters); throws std::invalid_argument.
std::string pii_type_name(std::string_view name);

}  // namespace citadel
