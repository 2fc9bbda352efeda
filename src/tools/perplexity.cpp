// citadel perplexity: how well a model predicts a text, computed as llama.cpp's perplexity tool
// does so the figures compare: the text (BOS added if the vocabulary asks) is cut into consecutive
// windows of N tokens; each window is run from an empty cache with BOS in its first slot, and only
// the predictions of its second half are scored (each has at least N/2 tokens of context).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/lora_adapter.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "tools/tool.h"
#include "tools/tool_support.h"

namespace citadel {
namespace {

// -log p(target) from one row of logits, in double as llama.cpp's log_softmax.
double negative_log_prob(const float* logits, int64_t n_vocab, int32_t target) {
  float max = logits[0];
  for (int64_t i = 1; i < n_vocab; ++i) max = std::max(max, logits[i]);
  double sum = 0;
  for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i] - max));
  return -(static_cast<double>(logits[target] - max) - std::log(sum));
}

int run_perplexity(int argc, char** argv) {
  CLI::App app{"Perplexity of a model on a text file, windowed as llama.cpp's llama-perplexity computes it.",
               "citadel perplexity"};
  std::string model_path, text_path;
  int64_t n_ctx = 0, n_batch = 0;
  int max_chunks = 0, threads = 0;
  bool json = false;
  app.add_option("-m,--model", model_path, "GGUF file or Hugging Face folder")->required();
  app.add_option("-f,--file", text_path, "text file")->required();
  app.add_option("-c,--context", n_ctx, "window size in tokens (default: the model's training context, at most 512)")
      ->check(CLI::Range(int64_t(4), int64_t(1) << 20));
  app.add_option("-b,--batch", n_batch, "tokens per forward pass (default: the whole window)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  app.add_option("--chunks", max_chunks, "score at most this many windows (0 = all)")->check(CLI::Range(0, 1 << 30));
  app.add_option("-t,--threads", threads, "threads")->check(CLI::Range(0, 1024));
  std::vector<std::string> lora_args;
  app.add_option("--lora", lora_args, "LoRA adapter FILE[:SCALE] (repeatable; llama.cpp's LoRA GGUF layout)");
  app.add_flag("--json", json, "print one JSON object instead of the progress line");
  add_model_key_option(app);
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(text_path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + text_path);
  std::stringstream ss;
  ss << in.rdbuf();
  LoadedModel lm = load_model_and_tokenizer(model_path);
  const Model& model = *lm.model;
  const Tokenizer& tok = *lm.tokenizer;
  const HParams& hp = model.hparams();
  const LoraStack lora = load_lora_stack(lora_args, model);
  if (n_ctx == 0) n_ctx = std::min<int64_t>(hp.n_ctx_train, 512);
  if (n_batch == 0 || n_batch > n_ctx) n_batch = n_ctx;

  const bool add_bos = tok.adds_bos() && tok.bos_id() >= 0;
  const std::vector<int32_t> tokens = tok.encode(ss.str(), add_bos);
  if (static_cast<int64_t>(tokens.size()) < 2 * n_ctx)
    throw std::runtime_error("the text has " + std::to_string(tokens.size()) + " tokens; a context of " +
                             std::to_string(n_ctx) + " needs at least " + std::to_string(2 * n_ctx));
  int64_t n_chunk = static_cast<int64_t>(tokens.size()) / n_ctx;
  if (max_chunks > 0) n_chunk = std::min<int64_t>(n_chunk, max_chunks);
  const int64_t first = n_ctx / 2, n_vocab = hp.n_vocab;

  ThreadPool pool(threads);
  KvCache kv(hp, KvCache::blocks_for(n_ctx, 1));
  std::vector<float> logits;
  double nll = 0, nll2 = 0;
  int64_t count = 0, nonfinite = 0;
  const auto start_time = std::chrono::steady_clock::now();
  for (int64_t chunk = 0; chunk < n_chunk; ++chunk) {
    const int64_t start = chunk * n_ctx;
    const int32_t seq = kv.add_sequence();
    kv.reserve(seq, n_ctx);
    std::vector<float> window_logits;  // rows for positions first .. n_ctx - 2
    for (int64_t b0 = 0; b0 < n_ctx; b0 += n_batch) {
      Batch batch;
      for (int64_t j = b0; j < std::min(n_ctx, b0 + n_batch); ++j) {
        const int32_t token = (j == 0 && add_bos) ? tok.bos_id() : tokens[start + j];
        batch.add(token, static_cast<int32_t>(j), seq, j >= first && j < n_ctx - 1, lora.empty() ? nullptr : &lora);
      }
      logits.resize(std::max<int64_t>(1, batch.n_outputs()) * n_vocab);
      model.forward(batch, kv, pool, logits.data());
      window_logits.insert(window_logits.end(), logits.begin(), logits.begin() + batch.n_outputs() * n_vocab);
    }
    kv.free_sequence(seq);
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const float* row = window_logits.data() + (j - first) * n_vocab;
      for (int64_t i = 0; i < n_vocab; ++i) nonfinite += !std::isfinite(row[i]);
      const double v = negative_log_prob(row, n_vocab, tokens[start + j + 1]);
      nll += v;
      nll2 += v * v;
      ++count;
    }
    if (!json) {
      std::fprintf(stderr, "[%lld]%.4f,", static_cast<long long>(chunk + 1), std::exp(nll / count));
      std::fflush(stderr);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  const double mean = nll / count, ppl = std::exp(mean);
  const double var = nll2 / count - mean * mean;
  const double err = var > 0 && count > 1 ? std::sqrt(var / (count - 1)) * ppl : 0.0;
  const double tps = seconds > 0 ? double(n_chunk * n_ctx) / seconds : 0.0;
  if (json) {
    nlohmann::json j = {{"perplexity", ppl},         {"ppl_error", err},       {"tokens_scored", count},
                        {"chunks", n_chunk},         {"context", n_ctx},       {"batch", n_batch},
                        {"text_tokens", tokens.size()}, {"seconds", seconds},  {"tokens_per_second", tps},
                        {"nonfinite_logits", nonfinite}, {"model", model_path}, {"file", text_path},
                        {"weight_bytes", model.weight_bytes()}, {"kv_cache_bytes", kv.bytes()}};
    if (!lora_args.empty()) j["lora"] = lora_args;
    std::cout << j.dump() << "\n";
  } else {
    std::fprintf(stderr, "\n");
    std::printf("Final estimate: PPL = %.4f +/- %.5f (%lld tokens scored in %lld windows of %lld; %.1f tokens/s)\n", ppl,
                err, static_cast<long long>(count), static_cast<long long>(n_chunk), static_cast<long long>(n_ctx), tps);
  }
  if (nonfinite > 0) {
    std::fprintf(stderr, "citadel perplexity: error: %lld logits were NaN or infinite\n", static_cast<long long>(nonfinite));
    return 1;
  }
  return 0;
}

const ToolRegistration reg{"perplexity", "measure a model's perplexity on a text (as llama-perplexity)", run_perplexity};

}  // namespace
}  // namespace citadel
