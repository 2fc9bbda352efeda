#include "gateway/pii_config.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace citadel {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw std::invalid_argument("pii." + where + ": " + what);
}

void only_keys(const json& j, const std::string& where, std::initializer_list<const char*> keys) {
  if (!j.is_object()) bad(where, "expected an object");
  for (const auto& [k, v] : j.items())
    if (std::none_of(keys.begin(), keys.end(), [&k = k](const char* x) { return k == x; })) {
      std::string known;
      for (const char* x : keys) known += std::string(known.empty() ? "" : ", ") + x;
      bad(where.empty() ? k : where + "." + k, "unknown key (known: " + known + ")");
    }
}

std::string string_at(const json& j, const std::string& where) {
  if (!j.is_string()) bad(where, "expected a string");
  return j.get<std::string>();
}

std::vector<std::string> strings_at(const json& j, const std::string& where) {
  if (!j.is_array()) bad(where, "expected an array of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i) out.push_back(string_at(j[i], where + "[" + std::to_string(i) + "]"));
  return out;
}

std::string type_at(const json& j, const std::string& where) {
  const std::string s = string_at(j, where);
  try {
    return pii_type_name(s);
  } catch (const std::invalid_argument& e) {
    bad(where, e.what());
  }
}

}  // namespace

const std::vector<std::string>& pii_builtin_detectors() {
  static const std::vector<std::string> names = {"email", "phone", "cn_id", "bank_card", "iban", "us_ssn", "ip"};
  return names;
}

std::string pii_type_name(std::string_view name) {
  std::string t(name);
  for (char& c : t)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  const bool ok = !t.empty() && t.size() <= 32 && t[0] >= 'A' && t[0] <= 'Z' &&
                  std::all_of(t.begin(), t.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; });
  if (!ok) throw std::invalid_argument("PII type '" + std::string(name) + "' must be letters, digits and '_', starting with a letter (at most 32)");
  return t;
}

PiiConfig pii_config_from_json(const json& j, const std::string& base_dir) {
  PiiConfig c;
  if (j.is_null()) return c;
  only_keys(j, "", {"detectors", "dictionaries", "regexes"});
  if (j.contains("detectors")) {
    c.detectors = strings_at(j["detectors"], "detectors");
    const auto& known = pii_builtin_detectors();
    for (size_t i = 0; i < c.detectors.size(); ++i)
      if (std::find(known.begin(), known.end(), c.detectors[i]) == known.end())
        bad("detectors[" + std::to_string(i) + "]",
            "unknown detector '" + c.detectors[i] + "' (email, phone, cn_id, bank_card, iban, us_ssn, ip)");
  }
  if (j.contains("dictionaries")) {
    if (!j["dictionaries"].is_array()) bad("dictionaries", "expected an array");
    for (size_t i = 0; i < j["dictionaries"].size(); ++i) {
      const std::string where = "dictionaries[" + std::to_string(i) + "]";
      const json& d = j["dictionaries"][i];
      only_keys(d, where, {"type", "file", "files", "terms", "case_sensitive"});
      PiiDictionaryConfig dict;
      if (d.contains("type")) dict.type = type_at(d["type"], where + ".type");
      if (d.contains("file")) dict.files.push_back(string_at(d["file"], where + ".file"));
      if (d.contains("files"))
        for (auto& f : strings_at(d["files"], where + ".files")) dict.files.push_back(std::move(f));
      if (d.contains("terms")) dict.terms = strings_at(d["terms"], where + ".terms");
      if (d.contains("case_sensitive")) {
        if (!d["case_sensitive"].is_boolean()) bad(where + ".case_sensitive", "expected true or false");
        dict.case_sensitive = d["case_sensitive"].get<bool>();
      }
      if (dict.files.empty() && dict.terms.empty()) bad(where, "needs \"file\", \"files\" or \"terms\"");
      for (auto& f : dict.files)
        if (!base_dir.empty() && std::filesystem::path(f).is_relative()) f = (std::filesystem::path(base_dir) / f).string();
      c.dictionaries.push_back(std::move(dict));
    }
  }
  if (j.contains("regexes")) {
    if (!j["regexes"].is_array()) bad("regexes", "expected an array");
    for (size_t i = 0; i < j["regexes"].size(); ++i) {
      const std::string where = "regexes[" + std::to_string(i) + "]";
      const json& r = j["regexes"][i];
      only_keys(r, where, {"type", "pattern"});
      if (!r.contains("type") || !r.contains("pattern")) bad(where, "needs \"type\" and \"pattern\"");
      c.regexes.push_back({type_at(r["type"], where + ".type"), string_at(r["pattern"], where + ".pattern")});
      if (c.regexes.back().pattern.empty()) bad(where + ".pattern", "is empty");
    }
  }
  return c;
}

}  // namespace citadel
