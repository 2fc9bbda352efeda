#include "engine/json_constraint.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace citadel;

namespace {
std::shared_ptr<const JsonSchema> schema_for(bool object_only) {
  return object_only ? JsonSchema::any_object() : JsonSchema::compile(nlohmann::json::object());
}
bool accepts(const std::string& s, bool object_only = true) {
  JsonValidator v(schema_for(object_only));
  return v.feed(s);
}
bool complete(const std::string& s, bool object_only = true) {
  JsonValidator v(schema_for(object_only));
  return v.feed(s) && v.complete();
}
}  // namespace

TEST(JsonValidator, AcceptsValidDocumentsAndPrefixes) {
  const std::string doc = R"({"name": "Lily", "age": 3, "pets": ["cat", {"dog": true}], "x": -1.5e+3, "n": null, "e": [], "o": {}})";
  ASSERT_TRUE(nlohmann::json::accept(doc));
  EXPECT_TRUE(complete(doc));
  for (size_t i = 0; i < doc.size(); ++i) EXPECT_TRUE(accepts(doc.substr(0, i))) << doc.substr(0, i);
  EXPECT_TRUE(complete(R"({"s": "a\"b\\c\u00e9"})"));
  EXPECT_TRUE(complete("[1, 2]", false));
}

TEST(JsonValidator, RejectsInvalidText) {
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

TEST(JsonValidator, FailedFeedLeavesStateUnchanged) {
  JsonValidator v;
  ASSERT_TRUE(v.feed("{\"a\": "));
  EXPECT_FALSE(v.feed("}x"));
  EXPECT_TRUE(v.feed("1}"));
  EXPECT_TRUE(v.complete());
}

namespace {
const nlohmann::json kPerson = nlohmann::json::parse(R"({
  "type": "object",
  "properties": {
    "name": {"type": "string"},
    "age": {"type": "integer"},
    "score": {"type": "number"},
    "status": {"enum": ["active", "inactive", 7]},
    "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
    "nick": {"type": ["string", "null"]},
    "home": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
  },
  "required": ["name", "age"],
  "additionalProperties": false
})");

bool schema_accepts(const nlohmann::json& schema, const std::string& text) {
  JsonValidator v(JsonSchema::compile(schema));
  return v.feed(text);
}
bool schema_complete(const nlohmann::json& schema, const std::string& text) {
  JsonValidator v(JsonSchema::compile(schema));
  return v.feed(text) && v.complete();
}
}  // namespace

TEST(JsonSchemaValidator, AcceptsMatchingDocumentsAndEveryPrefix) {
  const std::string doc =
      R"({"name": "Ann", "age": 31, "score": -2.5e1, "status": "inactive", "tags": ["a", "b"], "nick": null, "home": {"city": "Oslo"}})";
  EXPECT_TRUE(schema_complete(kPerson, doc));
  for (size_t i = 0; i < doc.size(); ++i) EXPECT_TRUE(schema_accepts(kPerson, doc.substr(0, i))) << doc.substr(0, i);
  EXPECT_TRUE(schema_complete(kPerson, R"({"age": 1, "name": "x", "status": 7})"));  // any key order
  EXPECT_TRUE(schema_complete(kPerson, R"({"name": "x", "age": 0, "nick": "y"})"));
}

TEST(JsonSchemaValidator, RejectsWhatTheSchemaRulesOut) {
  EXPECT_FALSE(schema_accepts(kPerson, R"({"nam)" "e2"));                 // not a property
  EXPECT_FALSE(schema_accepts(kPerson, R"({"other")"));                  // additionalProperties false
  EXPECT_FALSE(schema_accepts(kPerson, R"({"age": "3")"));               // a string for an integer
  EXPECT_FALSE(schema_accepts(kPerson, R"({"age": 3.5)"));               // integers have no fraction
  EXPECT_FALSE(schema_accepts(kPerson, R"({"age": 3e2)"));
  EXPECT_FALSE(schema_accepts(kPerson, R"({"name": "x"})"));             // age is required
  EXPECT_FALSE(schema_accepts(kPerson, R"({"status": "act1)"));          // not in the enum
  EXPECT_FALSE(schema_accepts(kPerson, R"({"status": 8)"));
  EXPECT_FALSE(schema_accepts(kPerson, R"({"tags": [])"));               // minItems 1
  EXPECT_FALSE(schema_accepts(kPerson, R"({"tags": ["a", "b", )"));      // maxItems 2
  EXPECT_FALSE(schema_accepts(kPerson, R"({"tags": [1)"));               // items are strings
  EXPECT_FALSE(schema_accepts(kPerson, R"({"nick": true)"));             // string or null
  EXPECT_FALSE(schema_accepts(kPerson, R"({"home": {}})"));              // city is required
  EXPECT_FALSE(schema_accepts(kPerson, R"({"name": "a", "name")"));      // no key twice
  EXPECT_FALSE(schema_accepts(kPerson, "[")); // the root is an object
  EXPECT_TRUE(schema_complete(nlohmann::json{{"enum", {1, 10}}}, "[10]") == false);
}

TEST(JsonSchemaValidator, EnumsWithSharedPrefixesAndRecursiveRefs) {
  const auto nums = nlohmann::json::parse(R"({"type": "object", "properties": {"n": {"enum": [1, 10, 100]}}})");
  EXPECT_TRUE(schema_complete(nums, R"({"n": 1})"));
  EXPECT_TRUE(schema_complete(nums, R"({"n": 10})"));
  EXPECT_TRUE(schema_complete(nums, R"({"n": 100})"));
  EXPECT_FALSE(schema_accepts(nums, R"({"n": 1000)"));
  const auto tree = nlohmann::json::parse(R"({
    "$ref": "#/$defs/node",
    "$defs": {"node": {"type": "object", "properties": {
      "v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["v"]}}})");
  EXPECT_TRUE(schema_complete(tree, R"({"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": [{"v": 4}]}]})"));
  EXPECT_FALSE(schema_accepts(tree, R"({"v": 1, "kids": [{"w")"));
  const auto either = nlohmann::json::parse(R"({"type": "object", "properties": {"x": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}})");
  EXPECT_TRUE(schema_complete(either, R"({"x": "s"})"));
  EXPECT_TRUE(schema_complete(either, R"({"x": 5})"));
  EXPECT_FALSE(schema_accepts(either, R"({"x": t)"));
}

TEST(JsonSchemaValidator, UnsupportedOrBrokenSchemasAreRefusedClearly) {
  auto error_of = [](const char* text) -> std::string {
    try {
      JsonSchema::compile(nlohmann::json::parse(text));
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of(R"({"type": "array", "prefixItems": [{}]})").find("prefixItems"), std::string::npos);
  EXPECT_NE(error_of(R"({"anyOf": [{"type": "object"}, {"type": "object"}]})").find("start alike"), std::string::npos);
  EXPECT_NE(error_of(R"({"type": "thing"})").find("unknown type"), std::string::npos);
  EXPECT_NE(error_of(R"({"$ref": "#/$defs/missing"})").find("points at nothing"), std::string::npos);
  EXPECT_NE(error_of(R"({"$ref": "http://x/y"})").find("local"), std::string::npos);
  EXPECT_NE(error_of(R"({"$ref": "#"})").find("itself"), std::string::npos);
  EXPECT_NE(error_of(R"({"properties": {"a": {}}, "required": ["b"]})").find("'b'"), std::string::npos);
  EXPECT_EQ(error_of(R"({"type": "string", "pattern": "^a", "description": "facets are accepted"})"), "");
}
