// A rule on which tokens may come next (e.g. "the output must be JSON"). Stateful: one
// instance per request. The engine masks the logits before sampling and reports each token.
#pragma once
#include <cstdint>

namespace citadel {

class Tokenizer;

class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // Sets the logits of tokens that would break the rule to -infinity.
  virtual void mask(const Tokenizer& tokenizer, float* logits, int64_t n_vocab) = 0;
  // Records the token that was chosen.
  virtual void accept(const Tokenizer& tokenizer, int32_t token) = 0;
  // True once the output is complete: the engine then ends the request.
  virtual bool complete() const = 0;
};

}  // namespace citadel
