#include "engine/generator.h"

#include <algorithm>
#include <stdexcept>

#include "core/ops.h"
#include "engine/request.h"
#include "engine/stop_matcher.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace citadel {

GenerateResult generate(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool, const std::string& prompt,
                        const GenerateOptions& options, const GenerateCallbacks& callbacks) {
  return generate_from_ids(model, tokenizer, pool, tokenizer.encode(prompt, options.add_bos), options, callbacks);
}

GenerateResult generate_from_ids(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool,
                                 std::vector<int32_t> prompt_ids, const GenerateOptions& options,
                                 const GenerateCallbacks& callbacks) {
  const HParams& hp = model.hparams();
  GenerateResult result;
  result.prompt_ids = std::move(prompt_ids);
  const auto& prompt = result.prompt_ids;
  if (prompt.empty()) throw std::invalid_argument("the prompt is empty (no tokens)");
  validate_prompt(prompt, options.embeddings, hp.n_vocab, hp.n_embd);
  const int64_t n_ctx = options.context > 0 ? options.context : hp.n_ctx_train;
  if (static_cast<int64_t>(prompt.size()) >= n_ctx)
    throw std::invalid_argument("the prompt has " + std::to_string(prompt.size()) + " tokens; the context holds " +
                                std::to_string(n_ctx));

  const int64_t total = std::min<int64_t>(n_ctx, static_cast<int64_t>(prompt.size()) + options.max_tokens);
  KvCache kv(hp, KvCache::blocks_for(total, 1));
  const int32_t seq = kv.add_sequence();
  kv.reserve(seq, total);

  Sampler sampler(options.sampling);
  for (int32_t t : prompt)
    if (t >= 0) sampler.accept(t);  // image placeholders are no tokens to penalize
  StopMatcher stops(options.stop);
  Utf8StreamDecoder utf8;
  auto emit = [&](const std::string& s) {
    if (s.empty()) return;
    result.text += s;
    if (callbacks.on_text) callbacks.on_text(s);
  };

  std::vector<float> logits(hp.n_vocab);
  Batch batch;
  // Prefill in chunks; only the last prompt token needs logits.
  const int64_t chunk = std::max<int32_t>(1, options.prefill_chunk);
  for (size_t start = 0; start < prompt.size(); start += chunk) {
    batch.clear();
    const size_t end = std::min(prompt.size(), start + chunk);
    for (size_t i = start; i < end; ++i)
      batch.add(prompt[i], static_cast<int32_t>(i), seq, i + 1 == prompt.size(), options.lora,
                embedding_row(options.embeddings, static_cast<int64_t>(i), hp.n_embd));
    model.forward(batch, kv, pool, logits.data());
  }

  int64_t pos = static_cast<int64_t>(prompt.size());
  result.finish_reason = "length";
  for (int step = 0; step < options.max_tokens; ++step) {
    if (!all_finite(logits.data(), hp.n_vocab)) throw std::runtime_error(non_finite_logits_error(pos - 1));
    if (callbacks.on_logits) callbacks.on_logits(step, logits.data(), hp.n_vocab);
    const int32_t token = sampler.sample(logits.data(), hp.n_vocab);
    if (options.stop_at_eos && tokenizer.is_end_of_generation(token)) {
      result.finish_reason = "stop";
      break;
    }
    result.ids.push_back(token);
    sampler.accept(token);
    emit(stops.push(utf8.push(tokenizer.token_to_piece(token))));
    if (stops.stopped()) {
      result.finish_reason = "stop";
      break;
    }
    if (step + 1 == options.max_tokens || pos >= total) break;  // done, or the context is full
    batch.clear();
    batch.add(token, static_cast<int32_t>(pos++), seq, true, options.lora);
    model.forward(batch, kv, pool, logits.data());
  }
  if (!stops.stopped()) emit(stops.push(utf8.flush()) + stops.flush());
  return result;
}

}  // namespace citadel
