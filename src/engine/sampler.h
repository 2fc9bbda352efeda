// Picks the next token from logits. The chain follows llama.cpp's order: repetition / frequency /
// presence penalties over the recent history, then top-k, top-p, min-p, temperature, and a seeded
// draw (temperature <= 0: greedy argmax after penalties). Same seed and inputs => same tokens.
#pragma once
#include <cstdint>
#include <deque>
#include <random>
#include <vector>

namespace citadel {

struct SamplingParams {
  float temperature = 0.8f;
  int32_t top_k = 40;            // <= 0: off
  float top_p = 0.95f;           // >= 1: off
  float min_p = 0.05f;           // <= 0: off
  float repeat_penalty = 1.0f;   // 1: off (llama.cpp semantics: divide positive logits, multiply negative)
  int32_t repeat_last_n = 64;    // history window for all penalties
  float frequency_penalty = 0;   // OpenAI semantics: minus count * f
  float presence_penalty = 0;    // minus p if present at all
  uint64_t seed = 0xC17ADE1;

  bool greedy() const { return temperature <= 0; }
};

struct TokenProb {
  int32_t id;
  float prob;
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  // Modifies `logits` in place (penalties). Returns the chosen token.
  int32_t sample(float* logits, int64_t n_vocab);
  // Records a token of the sequence (prompt or generated) for the penalties.
  void accept(int32_t token);
  const SamplingParams& params() const { return params_; }

 private:
  void apply_penalties(float* logits, int64_t n_vocab) const;
  double uniform();

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::deque<int32_t> history_;
  std::vector<TokenProb> candidates_;
};

// Index of the largest value (the first one on ties).
int32_t argmax(const float* values, int64_t n);

}  // namespace citadel
