// Constrained decoding for JSON output (OpenAI response_format json_object / json_schema):
// only tokens that keep the text a valid prefix of a JSON value may be sampled, and the request
// ends when the value is complete, so the output always parses (unless max_tokens cuts it).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/token_constraint.h"

namespace citadel {

// Incremental JSON syntax checker over bytes.
class JsonPrefixValidator {
 public:
  explicit JsonPrefixValidator(bool object_only = true) : object_only_(object_only) {}
  // Consumes one byte; false (state unchanged) if it cannot continue a valid JSON text.
  bool feed(unsigned char c);
  bool feed(const std::string& s);  // all or nothing
  bool complete() const;            // a whole top-level value has been read

 private:
  enum class Mode : uint8_t { Value, AfterValue, ObjectKeyOrEnd, ObjectKey, Colon, String, StringEscape,
                              StringUnicode, Number, Literal, Done };
  bool feed_impl(unsigned char c);
  void end_value();

  bool object_only_;
  Mode mode_ = Mode::Value;
  std::vector<char> stack_;  // '{' or '['
  bool in_key_ = false;
  bool started_ = false;
  bool empty_array_ = false;  // just after '[': ']' may close it
  int unicode_left_ = 0;
  std::string literal_;      // remaining letters of true/false/null
  std::string number_;       // the number so far
  int whitespace_run_ = 0;
};

class JsonConstraint : public TokenConstraint {
 public:
  // `pieces`: every token's bytes (shared by all requests of a model).
  explicit JsonConstraint(std::shared_ptr<const std::vector<std::string>> pieces);
  void mask(const Tokenizer& tokenizer, float* logits, int64_t n_vocab) override;
  void accept(const Tokenizer& tokenizer, int32_t token) override;
  bool complete() const override { return state_.complete(); }

 private:
  std::shared_ptr<const std::vector<std::string>> pieces_;
  JsonPrefixValidator state_;
};

// Every token's bytes, computed once per tokenizer.
std::shared_ptr<const std::vector<std::string>> token_pieces(const Tokenizer& tokenizer);

}  // namespace citadel
