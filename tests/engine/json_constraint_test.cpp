#include "engine/json_constraint.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace citadel;

namespace {
bool accepts(const std::string& s, bool object_only = true) {
  JsonPrefixValidator v(object_only);
  return v.feed(s);
}
bool complete(const std::string& s, bool object_only = true) {
  JsonPrefixValidator v(object_only);
  return v.feed(s) && v.complete();
}
}  // namespace

TEST(JsonPrefixValidator, AcceptsValidDocumentsAndPrefixes) {
  const std::string doc = R"({"name": "Lily", "age": 3, "pets": ["cat", {"dog": true}], "x": -1.5e+3, "n": null, "e": [], "o": {}})";
  ASSERT_TRUE(nlohmann::json::accept(doc));
  EXPECT_TRUE(complete(doc));
  for (size_t i = 0; i < doc.size(); ++i) EXPECT_TRUE(accepts(doc.substr(0, i))) << doc.substr(0, i);
  EXPECT_TRUE(complete(R"({"s": "a\"b\\c\u00e9"})"));
  EXPECT_TRUE(complete("[1, 2]", false));
}

TEST(JsonPrefixValidator, RejectsInvalidText) {
  EXPECT_FALSE(accepts("[1]"));  // json_object wants an object
  EXPECT_FALSE(accepts("{name"));
  EXPECT_FALSE(accepts("{\"a\" 1"));
  EXPECT_FALSE(accepts("{\"a\": 01"));
  EXPECT_FALSE(accepts("{\"a\": tru }"));
  EXPECT_FALSE(accepts("{\"a\": 1,}"));
  EXPECT_FALSE(accepts("{\"a\": [1,]"));
  EXPECT_FALSE(accepts("{} x"));
  EXPECT_FALSE(accepts("{\"a\": \"\x01\"}"));
  EXPECT_FALSE(accepts("{\"a\": \"\\x\"}"));
  EXPECT_FALSE(accepts("{      \"a\": 1}"));  // whitespace runs are capped
}

TEST(JsonPrefixValidator, FailedFeedLeavesStateUnchanged) {
  JsonPrefixValidator v;
  ASSERT_TRUE(v.feed("{\"a\": "));
  EXPECT_FALSE(v.feed("}x"));
  EXPECT_TRUE(v.feed("1}"));
  EXPECT_TRUE(v.complete());
}
