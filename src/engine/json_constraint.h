// Constrained decoding for JSON output (OpenAI response_format json_object / json_schema): only
// tokens that keep the text a prefix of a JSON value matching the schema may be sampled, and the
// request ends when the value is complete, so the output parses and fits the schema (unless
// max_tokens cuts it). What of JSON Schema is enforced: engine/json_schema.h.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/json_schema.h"
#include "engine/token_constraint.h"

namespace citadel {

// Incremental check of JSON text against a compiled schema, byte by byte.
class JsonValidator {
 public:
  explicit JsonValidator(std::shared_ptr<const JsonSchema> schema = JsonSchema::any_object());
  // Consumes one byte; false (state unchanged) if it cannot continue a matching JSON text.
  bool feed(unsigned char c);
  bool feed(const std::string& s);            // all or nothing
  bool accepts(const std::string& s) const;   // would feed(s) succeed? (state unchanged)
  bool complete() const { return done_; }     // a whole top-level value has been read

 private:
  enum class Phase : uint8_t { Value, ObjectKeyOrEnd, ObjectKey, Key, Colon, ObjectCommaOrEnd, ArrayValueOrEnd,
                               ArrayValue, ArrayCommaOrEnd, String, StringEscape, StringUnicode, Number, Literal };
  struct Frame {
    Phase phase = Phase::Value;
    int node = JsonSchema::kAny;
    bool integer = false;      // Number: no fraction or exponent
    int unicode_left = 0;      // StringUnicode
    int key = -1;              // object: the property being read (-2: an additional one)
    uint64_t seen = 0;         // object: properties present so far
    int64_t count = 0;         // array: items so far
    std::string text;          // key, number or literal so far
    const std::vector<std::string>* literals = nullptr;
  };

  bool step(unsigned char c);
  bool start_value(Frame& f, unsigned char c);
  bool can_start(int node, unsigned char c, int depth = 0) const;
  bool push_value(int node);
  void end_value();
  bool object_can_continue(const Frame& f) const;  // another key may come
  bool object_can_close(const Frame& f) const;     // every required key is there

  std::shared_ptr<const JsonSchema> schema_;
  std::vector<Frame> stack_;
  bool done_ = false;
  int whitespace_run_ = 0;
};

class JsonConstraint : public TokenConstraint {
 public:
  // `pieces`: every token's bytes (shared by all requests of a model).
  JsonConstraint(std::shared_ptr<const std::vector<std::string>> pieces,
                 std::shared_ptr<const JsonSchema> schema = JsonSchema::any_object());
  void mask(const Tokenizer& tokenizer, float* logits, int64_t n_vocab) override;
  void accept(const Tokenizer& tokenizer, int32_t token) override;
  bool complete() const override { return state_.complete(); }

 private:
  std::shared_ptr<const std::vector<std::string>> pieces_;
  JsonValidator state_;
};

// Every token's bytes, computed once per tokenizer.
std::shared_ptr<const std::vector<std::string>> token_pieces(const Tokenizer& tokenizer);

}  // namespace citadel
