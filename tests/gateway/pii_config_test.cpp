// PII policies and the detector configuration read from JSON (what the server config converts to).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gateway/pii.h"

using namespace citadel;
using nlohmann::json;

TEST(PiiPolicy, NamesAndMeaning) {
  for (PiiPolicy p : {PiiPolicy::Off, PiiPolicy::LogOnly, PiiPolicy::RedactInput, PiiPolicy::RedactBoth})
    EXPECT_EQ(parse_pii_policy(pii_policy_name(p)), p);
  EXPECT_STREQ(pii_policy_name(PiiPolicy::RedactInput), "redact-input");
  EXPECT_THROW(parse_pii_policy("redact"), std::invalid_argument);
  EXPECT_THROW(parse_pii_policy("OFF"), std::invalid_argument);
  EXPECT_FALSE(pii_redacts_logs(PiiPolicy::Off));
  EXPECT_TRUE(pii_redacts_logs(PiiPolicy::LogOnly));
  EXPECT_FALSE(pii_redacts_input(PiiPolicy::LogOnly));
  EXPECT_TRUE(pii_redacts_input(PiiPolicy::RedactInput));
  EXPECT_TRUE(pii_restores_output(PiiPolicy::RedactInput));
  EXPECT_FALSE(pii_restores_output(PiiPolicy::RedactBoth));
  EXPECT_TRUE(pii_redacts_output(PiiPolicy::RedactBoth));
  EXPECT_FALSE(pii_redacts_output(PiiPolicy::RedactInput));
}

TEST(PiiConfig, FromJson) {
  char dir_tmpl[] = "/tmp/citadel-pii-XXXXXX";
  const std::string dir = ::mkdtemp(dir_tmpl);
  std::ofstream(dir + "/names.txt") << "# customers\r\n张伟\r\n\r\n  Mary Johnson  \r\n";
  const auto j = json::parse(R"({
    "detectors": ["email", "phone"],
    "dictionaries": [{"type": "name", "file": "names.txt"}, {"type": "PROJECT", "terms": ["BlueHarbor"], "case_sensitive": true}],
    "regexes": [{"type": "employee_id", "pattern": "EMP-\\d{6}"}]})");
  const PiiConfig c = pii_config_from_json(j, dir);
  EXPECT_EQ(c.detectors, (std::vector<std::string>{"email", "phone"}));
  ASSERT_EQ(c.dictionaries.size(), 2u);
  EXPECT_EQ(c.dictionaries[0].type, "NAME");
  EXPECT_EQ(c.dictionaries[0].files, std::vector<std::string>{dir + "/names.txt"});
  EXPECT_TRUE(c.dictionaries[1].case_sensitive);
  ASSERT_EQ(c.regexes.size(), 1u);
  EXPECT_EQ(c.regexes[0].type, "EMPLOYEE_ID");

  const PiiDetector d(c);
  PiiRedactor r(d);
  EXPECT_EQ(r.redact("张伟 and mary johnson (EMP-123456) of BlueHarbor: 13812345678, 4111111111111111"),
            "[NAME_1] and [NAME_2] ([EMPLOYEE_ID_1]) of [PROJECT_1]: [PHONE_1], 4111111111111111");
  EXPECT_EQ(pii_config_from_json(json(nullptr)).detectors, pii_builtin_detectors());
  EXPECT_EQ(pii_config_from_json(json::object()).detectors.size(), 7u);
  std::remove((dir + "/names.txt").c_str());
  std::remove(dir.c_str());
}

TEST(PiiConfig, ErrorsNameTheKey) {
  auto error = [](const char* text) {
    try {
      pii_config_from_json(json::parse(text));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error(R"({"detector": []})"), "pii.detector: unknown key (known: detectors, dictionaries, regexes)");
  EXPECT_EQ(error(R"({"detectors": ["mail"]})"),
            "pii.detectors[0]: unknown detector 'mail' (email, phone, cn_id, bank_card, iban, us_ssn, ip)");
  EXPECT_EQ(error(R"({"detectors": "email"})"), "pii.detectors: expected an array of strings");
  EXPECT_EQ(error(R"({"dictionaries": [{"type": "NAME"}]})"), "pii.dictionaries[0]: needs \"file\", \"files\" or \"terms\"");
  EXPECT_EQ(error(R"({"dictionaries": [{"terms": ["x"], "fil": "a"}]})"),
            "pii.dictionaries[0].fil: unknown key (known: type, file, files, terms, case_sensitive)");
  EXPECT_NE(error(R"({"regexes": [{"type": "1BAD", "pattern": "x"}]})").find("pii.regexes[0].type: PII type '1BAD'"),
            std::string::npos);
  EXPECT_EQ(error(R"({"regexes": [{"type": "A"}]})"), "pii.regexes[0]: needs \"type\" and \"pattern\"");
  EXPECT_EQ(error(R"({"regexes": [{"type": "A", "pattern": ""}]})"), "pii.regexes[0].pattern: is empty");
  EXPECT_EQ(error("[]"), "pii.: expected an object");
}

TEST(PiiConfig, DetectorRefusesBadRegexAndMissingFile) {
  PiiConfig bad_regex;
  bad_regex.regexes.push_back({"CODE", "(unclosed"});
  EXPECT_THROW({ PiiDetector d(bad_regex); }, std::invalid_argument);
  PiiConfig missing;
  missing.dictionaries.push_back({"NAME", {"/nonexistent/names.txt"}, {}, false});
  EXPECT_THROW({ PiiDetector d(missing); }, std::runtime_error);
  PiiConfig bad_type;
  bad_type.dictionaries.push_back({"NAME-1", {}, {"x"}, false});
  EXPECT_THROW({ PiiDetector d(bad_type); }, std::invalid_argument);
  PiiConfig unknown;
  unknown.detectors = {"passport"};
  EXPECT_THROW({ PiiDetector d(unknown); }, std::invalid_argument);
}
