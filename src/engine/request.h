// What a client asks the engine for, and what streams back.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/sampler.h"

namespace citadel {

class TokenConstraint;
struct LoraStack;

// Rows that stand in the prompt instead of token ids: an image's embeddings from a vision
// projector (engine/multimodal_prompt.h). prompt[pos .. pos + n) hold placeholder ids, negative
// and derived from the image's hash, so the prefix cache shares K/V only between equal images;
// the model reads these rows (n x n_embd floats) in their place.
struct PromptEmbedding {
  int64_t pos = 0;
  int64_t n = 0;
  std::shared_ptr<const std::vector<float>> rows;
};

// The embedding row at prompt position `pos`, or null where the prompt has a token.
const float* embedding_row(const std::vector<PromptEmbedding>& embeddings, int64_t pos, int64_t n_embd);
// Throws std::invalid_argument unless every span lies in the prompt, holds n x n_embd floats and
// negative placeholders, no two overlap, and every other id is in [0, n_vocab).
void validate_prompt(const std::vector<int32_t>& prompt, const std::vector<PromptEmbedding>& embeddings,
                     int64_t n_vocab, int64_t n_embd);

struct GenerationRequest {
  std::vector<int32_t> prompt;
  std::vector<PromptEmbedding> embeddings;  // image rows in the prompt (none: text only)
  int32_t max_tokens = 256;
  SamplingParams sampling;
  std::vector<std::string> stop;
  bool stop_at_eos = true;
  int32_t top_logprobs = -1;  // -1: no logprobs; 0..20: the chosen token's logprob plus that many alternatives
  std::shared_ptr<TokenConstraint> constraint;  // e.g. JSON mode; nullptr = free text
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::string id;  // request id, for logs
  bool seed_given = false;  // the client chose the seed: a sampled answer is reproducible (response cache)
  // LoRA adapters applied to this request's rows (null: the base model); requests with different
  // adapters still share each forward pass. `adapter` names them for logs and metrics.
  std::shared_ptr<const LoraStack> lora;
  std::string adapter;
};

struct TokenLogprob {
  int32_t id;
  std::string piece;
  float logprob;
};

// One step of a stream: a generated token and the text it completes (may be empty while a
// multi-byte character or a possible stop string is held back).
struct TokenEvent {
  int32_t token = -1;
  std::string text;
  float logprob = 0;
  std::vector<TokenLogprob> top;  // alternatives, most likely first
};

enum class FinishReason { Stop, Length, Cancelled, Timeout, Error };
const char* finish_reason_name(FinishReason r);  // "stop", "length", ...

// The error of a generation whose logits at `position` held a NaN or an infinity (broken weights
// or numerics): it fails instead of sampling from them.
std::string non_finite_logits_error(int64_t position);

struct GenerationResult {
  FinishReason reason = FinishReason::Stop;
  std::string error;       // set when reason == Error
  std::string error_code;  // its kind, for metrics and API errors: "non_finite_logits", ... ("" otherwise)
  std::string stop_sequence;  // the stop string that ended it ("" when it ended otherwise)
  int32_t prompt_tokens = 0;
  int32_t completion_tokens = 0;
  int32_t cached_prompt_tokens = 0;  // prompt tokens whose KV came from the prefix cache
  double queue_seconds = 0;
  double first_token_seconds = 0;  // from submit to the first token
  double total_seconds = 0;
};

}  // namespace citadel
