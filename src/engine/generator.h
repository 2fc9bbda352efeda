// Single-sequence text generation: prompt in, tokens streamed out (the core of `citadel generate`).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/request.h"
#include "engine/sampler.h"

namespace citadel {

class Model;
class Tokenizer;
struct LoraStack;

struct GenerateOptions {
  int32_t max_tokens = 128;
  int64_t context = 0;  // KV positions; 0 = the model's training context
  bool add_bos = true;
  bool stop_at_eos = true;
  std::vector<std::string> stop;  // stop strings (not included in the text)
  SamplingParams sampling;
  int32_t prefill_chunk = 512;    // prompt tokens per forward pass
  const LoraStack* lora = nullptr;  // adapters applied to every token (null: the base model)
  std::vector<PromptEmbedding> embeddings;  // image rows in the prompt (engine/multimodal_prompt.h)
};

struct GenerateResult {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> ids;  // generated tokens (a stop-string token included, EOS excluded)
  std::string text;          // generated text, cut before a stop string
  std::string finish_reason; // "stop" (EOS or stop string) or "length"
};

struct GenerateCallbacks {
  std::function<void(const std::string&)> on_text;  // streamed, valid UTF-8 chunks
  // Logits that chose generated token `step` (n_vocab floats, before sampling modifies them).
  std::function<void(int step, const float* logits, int64_t n_vocab)> on_logits;
};

GenerateResult generate(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool, const std::string& prompt,
                        const GenerateOptions& options, const GenerateCallbacks& callbacks = {});

// Same, from prompt token ids.
GenerateResult generate_from_ids(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool,
                                 std::vector<int32_t> prompt_ids, const GenerateOptions& options,
                                 const GenerateCallbacks& callbacks = {});

}  // namespace citadel
