// Precision and recall of every detector on the labelled corpus (tests/data/pii/corpus.jsonl,
// made by gen_corpus.cpp: true values and near misses in Chinese and English). A finding counts
// when its type and its exact text match a label of its line. Targets: recall >= 0.99 on the
// checksummed types (CN_ID, BANK_CARD, IBAN), precision >= 0.98 over all findings.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "gateway/pii.h"
#include "test_paths.h"

using namespace citadel;

namespace {

struct Tally {
  size_t tp = 0, fp = 0, fn = 0;
  double precision() const { return tp + fp ? double(tp) / double(tp + fp) : 1.0; }
  double recall() const { return tp + fn ? double(tp) / double(tp + fn) : 1.0; }
};

}  // namespace

TEST(PiiCorpus, PrecisionAndRecallPerDetector) {
  const std::string dir = test::source_dir() + "/tests/data/pii";
  PiiConfig config;
  config.dictionaries.push_back({"NAME", {dir + "/names.txt"}, {}, false});
  config.regexes.push_back({"EMPLOYEE_ID", "(?<![A-Za-z0-9])EMP-\\d{6}(?![0-9])"});
  const PiiDetector detector(config);

  std::ifstream in(dir + "/corpus.jsonl");
  ASSERT_TRUE(in) << "corpus missing";
  std::map<std::string, Tally> by_type;
  std::string line;
  size_t lines = 0, shown = 0;
  while (std::getline(in, line)) {
    ++lines;
    const auto j = nlohmann::json::parse(line);
    const std::string text = j["text"];
    std::multiset<std::pair<std::string, std::string>> want;
    for (const auto& l : j["pii"]) want.emplace(l[0].get<std::string>(), l[1].get<std::string>());
    for (const PiiSpan& s : detector.detect(text)) {
      EXPECT_EQ(s.value, text.substr(s.begin, s.end - s.begin));
      auto it = want.find({s.type, s.value});
      if (it != want.end()) {
        ++by_type[s.type].tp;
        want.erase(it);
      } else {
        ++by_type[s.type].fp;
        if (shown++ < 40) std::printf("  false positive %-11s %s   in: %s\n", s.type.c_str(), s.value.c_str(), text.c_str());
      }
    }
    for (const auto& [type, value] : want) {
      ++by_type[type].fn;
      if (shown++ < 40) std::printf("  missed         %-11s %s   in: %s\n", type.c_str(), value.c_str(), text.c_str());
    }
  }
  ASSERT_GE(lines, 500u);

  Tally all;
  std::printf("%-12s %6s %5s %5s %10s %8s\n", "type", "found", "fp", "fn", "precision", "recall");
  for (const auto& [type, t] : by_type) {
    std::printf("%-12s %6zu %5zu %5zu %10.4f %8.4f\n", type.c_str(), t.tp, t.fp, t.fn, t.precision(), t.recall());
    all.tp += t.tp, all.fp += t.fp, all.fn += t.fn;
  }
  std::printf("%-12s %6zu %5zu %5zu %10.4f %8.4f   (%zu lines)\n", "all", all.tp, all.fp, all.fn, all.precision(),
              all.recall(), lines);

  for (const char* type : {pii_type::kCnId, pii_type::kBankCard, pii_type::kIban}) {
    ASSERT_TRUE(by_type.count(type)) << type;
    EXPECT_GE(by_type[type].tp + by_type[type].fn, 30u) << type << ": too few labelled values to measure";
    EXPECT_GE(by_type[type].recall(), 0.99) << type;
  }
  EXPECT_GE(all.precision(), 0.98);
}
