// redact_jsonl_line: its JSON check agrees with nlohmann::json::parse on hand-picked and on
// randomly mutated lines, it redacts exactly what redact_json_fields redacts on the parsed
// document, and it keeps every byte outside the redacted strings.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <map>
#include <random>

#include "gateway/pii.h"
#include "gateway/pii_jsonl.h"

using namespace citadel;
using nlohmann::ordered_json;

namespace {

const PiiDetector& detector() {
  static const PiiDetector d;
  return d;
}

const std::vector<JsonFieldPath> kPaths = parse_json_field_paths("text,messages.*.content,meta.*");

// The line through redact_jsonl_line, checked against nlohmann on the same line. Returns what
// happened: 'b'lank, 'j' not JSON, 'o' not an object, 'u'nchanged, 'c'hanged.
char check(const std::string& line) {
  PiiRedactor r(detector());
  std::string out;
  const JsonlRedaction got = redact_jsonl_line(line, kPaths, r, out);
  std::string trimmed = line;
  if (!trimmed.empty() && trimmed.back() == '\r') trimmed.pop_back();
  if (got.kind == JsonlRedaction::Blank) {
    EXPECT_EQ(trimmed.find_first_not_of(" \t"), std::string::npos) << line;
    return 'b';
  }
  const ordered_json doc = ordered_json::parse(trimmed, nullptr, false);
  if (doc.is_discarded()) {
    EXPECT_EQ(got.kind, JsonlRedaction::Malformed) << "accepted what nlohmann refuses: " << line;
    EXPECT_EQ(got.error.rfind("not JSON: ", 0), 0u) << got.error;
    return 'j';
  }
  if (!doc.is_object()) {
    EXPECT_EQ(got.kind, JsonlRedaction::Malformed) << line;
    EXPECT_EQ(got.error, "not a JSON object");
    return 'o';
  }
  EXPECT_EQ(got.kind, JsonlRedaction::Written) << "refused what nlohmann accepts (" << got.error << "): " << line;
  if (!got.changed) {
    EXPECT_EQ(out, trimmed);
    return 'u';
  }
  // Valid JSON, and no PII left where the paths point.
  EXPECT_FALSE(ordered_json::parse(out, nullptr, false).is_discarded()) << out;
  PiiRedactor again(detector());
  std::string twice;
  EXPECT_FALSE(redact_jsonl_line(out, kPaths, again, twice).changed) << out;
  return 'c';
}

}  // namespace

TEST(PiiJsonl, RedactsTheFieldsAndKeepsTheRestByteForByte) {
  PiiRedactor r(detector());
  std::string out;
  const std::string line =
      R"({"id": 1.50e3, "text": "call 13812345678\n", "other": "13812345678", "messages": [{"role": "user", )"
      R"("content": "\u5f20\u4f1f 13812345678 \ud83d\ude00"}, {"role": "x", "content": 42}], "meta": {"a": ["a@example.com"]}})";
  const auto res = redact_jsonl_line(line, kPaths, r, out);
  ASSERT_EQ(res.kind, JsonlRedaction::Written) << res.error;
  EXPECT_TRUE(res.changed);
  EXPECT_EQ(out,
            R"({"id": 1.50e3, "text": "call [PHONE_1]\n", "other": "13812345678", "messages": [{"role": "user", )"
            R"("content": "张伟 [PHONE_1] 😀"}, {"role": "x", "content": 42}], "meta": {"a": ["[EMAIL_1]"]}})");
  EXPECT_EQ(r.counts().at("PHONE"), 2u);
  // The same line through the DOM gives the same document.
  ordered_json dom = ordered_json::parse(line);
  PiiRedactor r2(detector());
  redact_json_fields(dom, kPaths, r2);
  EXPECT_EQ(ordered_json::parse(out), dom);
}

TEST(PiiJsonl, AgreesWithNlohmannOnEdgeCases) {
  const char* lines[] = {
      "{}", " {} ", "{} x", "{},", "[]", "\"text\"", "1", "null", "", "   ", "\t\r", "{\"text\":\"a\"}\r",
      "\xEF\xBB\xBF{\"text\":\"13812345678\"}", "{\"text\":\"\\u0000\"}", "{\"text\":\"\\ud800\"}",
      "{\"text\":\"\\udc00\"}", "{\"text\":\"\\ud800\\u0041\"}", "{\"text\":\"\\ud83d\\ude00 13812345678\"}",
      "{\"text\":\"\\x\"}", "{\"text\":\"\\u12\"}", "{\"text\":\"\\u12G4\"}", "{\"text\":\"a\tb\"}",
      "{\"text\":\"\xC0\xAF\"}", "{\"text\":\"\xED\xA0\x80\"}", "{\"text\":\"\xF4\x90\x80\x80\"}", "{\"text\":\"\xE4\xB8\"}",
      "{\"a\":01}", "{\"a\":-0}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}", "{\"a\":1E+5}", "{\"a\":+1}",
      "{\"a\":1e-07}", "{\"a\":tru}", "{\"a\":truex}", "{\"a\":nul}", "{\"a\" 1}", "{\"a\":1,}", "{,}", "{\"a\":[1,]}",
      "{\"a\":[,1]}", "{\"a\":[1 2]}", "{a:1}", "{'a':1}", "{\"a\":1}}", "{\"a\":[}", "{\"text\":\"x\",\"text\":\"13812345678\"}",
      "{\"messages\":[{\"content\":[\"13812345678\",{\"x\":\"a@example.com\"}]}]}", "{\"text\":{\"13812345678\":1}}",
      "{\"te\\u0078t\":\"13812345678\"}", "{\"text\":\"\\\"quoted\\\" 13812345678 \\\\ \\/\"}", "{\"a\":1}\n",
      "{\"a\":\"\x7f\"}", std::string("{\"a\":\"\0\"}", 8).c_str()};
  for (const char* l : lines) check(l);
  check(std::string("{\"a\":\"\0\"}", 8));
  // Nesting is bounded (the scanner recurses): 500 levels pass, 600 are refused, not a crash.
  check("{\"a\":" + std::string(500, '[') + std::string(500, ']') + "}");
  PiiRedactor r(detector());
  std::string out;
  const auto deep = redact_jsonl_line("{\"a\":" + std::string(600, '[') + std::string(600, ']') + "}", kPaths, r, out);
  EXPECT_EQ(deep.kind, JsonlRedaction::Malformed);
  EXPECT_EQ(deep.error.rfind("not JSON: nested too deep", 0), 0u) << deep.error;
}

TEST(PiiJsonl, AgreesWithNlohmannOnMutatedLines) {
  const std::vector<std::string> seeds = {
      R"({"id":1,"text":"客户张伟手机13812345678，身份证11010519491231002X","n":-1.25e-3,"ok":true,"x":null})",
      R"({"messages":[{"role":"user","content":"card 4111 1111 1111 1111 \u0041 \n"},{"content":["a@example.com"]}]})",
      R"({"meta":{"ip":"10.0.0.1","deep":[[{"k":"IBAN DE89370400440532013000"}]]},"text":"\ud83d\ude00"})"};
  const std::string alphabet = "{}[]\":,\\ u0123456789abcdefntrlsE+-.xX\xEF\xBB\xBF\xE4\xB8\xAD\xFF\x01\t\r";
  std::mt19937 rng(7);
  std::map<char, int> seen;
  for (int n = 0; n < 30000; ++n) {
    std::string line = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !line.empty(); ++e) {
      const size_t at = rng() % line.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: line[at] = c; break;
        case 1: line.insert(line.begin() + static_cast<long>(at), c); break;
        default: line.erase(at, 1 + rng() % 3);
      }
    }
    ++seen[check(line)];
    if (HasFailure()) break;
  }
  // Both sides of the check were exercised.
  EXPECT_GT(seen['j'], 3000);
  EXPECT_GT(seen['c'], 3000);
  EXPECT_GT(seen['u'], 100);
}
