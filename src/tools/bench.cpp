// citadel bench: prompt-processing (prefill) and generation (decode) speed of a model (with LoRA
// adapters applied to every token when --lora is given, as generate's), and the machine's memory
// read bandwidth, so decode can be read as a fraction of the physical limit.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "core/kernels/kernels.h"
#include "core/thread_pool.h"
#include "model/batch.h"
#include "model/kv_cache.h"
#include "model/lora_adapter.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "tools/tool.h"
#include "tools/tool_support.h"

namespace citadel {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Stats {
  double median = 0, min = 0, max = 0;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return {n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]), v.front(), v.back()};
}

nlohmann::json to_json(const Stats& s) { return {{"median", s.median}, {"min", s.min}, {"max", s.max}}; }

// Bytes of weights one token reads: every matrix of the forward pass (norms and biases are noise).
size_t weight_bytes_per_token(const Weights& w) {
  auto bytes = [](const Tensor& t) { return t.present() ? t.row_size() * static_cast<size_t>(t.rows()) : size_t{0}; };
  size_t total = bytes(w.output);
  for (const LayerWeights& l : w.layers)
    total += bytes(l.wq) + bytes(l.wk) + bytes(l.wv) + bytes(l.wqkv) + bytes(l.wo) + bytes(l.ffn_gate) +
             bytes(l.ffn_up) + bytes(l.ffn_down);
  return total;
}

// Read bandwidth: every thread sums its share of a buffer far larger than the caches; the best
// of several passes (GB/s, 1e9 bytes).
double measure_bandwidth(ThreadPool& pool, size_t bytes, int passes) {
  const size_t n = bytes / sizeof(uint64_t);
  std::vector<uint64_t> buf(n);
  pool.parallel_for(static_cast<int64_t>(n), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) buf[i] = static_cast<uint64_t>(i);
  }, 1 << 16);
  std::vector<uint64_t> sink(pool.size() * 8);
  double best = 0;
  for (int p = 0; p < passes; ++p) {
    const auto t0 = Clock::now();
    pool.run([&](int ti, int nt) {
      const size_t per = (n / nt) & ~size_t{7};
      const uint64_t* q = buf.data() + ti * per;
      const size_t len = ti + 1 == nt ? n - ti * per : per;
      // Eight independent sums: the loads, not an add chain, set the pace.
      uint64_t s[8] = {};
      for (size_t i = 0; i + 8 <= len; i += 8)
        for (int l = 0; l < 8; ++l) s[l] += q[i + l];
      sink[ti * 8] = s[0] ^ s[1] ^ s[2] ^ s[3] ^ s[4] ^ s[5] ^ s[6] ^ s[7];
    });
    best = std::max(best, static_cast<double>(n * sizeof(uint64_t)) / seconds_since(t0) / 1e9);
  }
  volatile uint64_t keep = sink[0];
  (void)keep;
  return best;
}

std::vector<int32_t> random_tokens(int64_t n, int64_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> t(n);
  for (auto& id : t) id = static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab));
  return t;
}

// One prefill of `tokens` into an empty cache, with `lora` on every row (null: the base); returns seconds.
double time_prefill(const Model& m, const std::vector<int32_t>& tokens, const LoraStack* lora, ThreadPool& pool,
                    std::vector<float>& logits) {
  KvCache kv(m.hparams(), KvCache::blocks_for(static_cast<int64_t>(tokens.size()), 1));
  const int32_t seq = kv.add_sequence();
  kv.reserve(seq, static_cast<int64_t>(tokens.size()));
  Batch b;
  for (size_t i = 0; i < tokens.size(); ++i) b.add(tokens[i], static_cast<int32_t>(i), seq, i + 1 == tokens.size(), lora);
  const auto t0 = Clock::now();
  m.forward(b, kv, pool, logits.data());
  return seconds_since(t0);
}

// `tokens.size()` single-token steps from an empty cache (as llama-bench's tg); returns seconds.
double time_decode(const Model& m, const std::vector<int32_t>& tokens, const LoraStack* lora, ThreadPool& pool,
                   std::vector<float>& logits) {
  KvCache kv(m.hparams(), KvCache::blocks_for(static_cast<int64_t>(tokens.size()), 1));
  const int32_t seq = kv.add_sequence();
  kv.reserve(seq, static_cast<int64_t>(tokens.size()));
  Batch b;
  const auto t0 = Clock::now();
  for (size_t i = 0; i < tokens.size(); ++i) {
    b.clear();
    b.add(tokens[i], static_cast<int32_t>(i), seq, true, lora);
    m.forward(b, kv, pool, logits.data());
  }
  return seconds_since(t0);
}

int run_bench(int argc, char** argv) {
  CLI::App app{"Measure prefill and decode speed (tokens/s) and memory bandwidth.", "citadel bench"};
  std::string model_path;
  int prompt_tokens = 512, gen_tokens = 128, threads = 0, repeat = 3;
  bool json = false, bandwidth = false;
  std::vector<std::string> lora_args;
  app.add_option("-m,--model", model_path, "GGUF model file");
  app.add_option("-p,--prompt-tokens", prompt_tokens, "tokens per prefill (0: skip)")->capture_default_str()->check(CLI::Range(0, 1 << 20));
  app.add_option("-n,--gen-tokens", gen_tokens, "tokens per decode run (0: skip)")->capture_default_str()->check(CLI::Range(0, 1 << 20));
  app.add_option("-t,--threads", threads, "threads (default: all cores)")->check(CLI::Range(0, 1024));
  app.add_option("-r,--repeat", repeat, "runs of each measurement (median reported)")->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("--lora", lora_args, "LoRA adapter FILE[:SCALE] applied to every token (repeatable: a stack, as generate's)");
  app.add_flag("--bandwidth", bandwidth, "also measure the machine's memory read bandwidth");
  app.add_flag("--json", json, "print one JSON object");
  add_model_key_option(app);
  CLI11_PARSE(app, argc, argv);
  if (model_path.empty() && !bandwidth) {
    std::cerr << "citadel bench: give --model FILE and/or --bandwidth\n";
    return 2;
  }

  ThreadPool pool(threads);
  nlohmann::json out = {{"threads", pool.size()}, {"cpu_features", cpu_features().describe()},
                        {"kernels", kernels::active().name}};
  double machine_gbs = 0;
  if (bandwidth) {
    machine_gbs = measure_bandwidth(pool, size_t{1} << 30, 5);
    out["machine_gb_per_second"] = machine_gbs;
  }
  if (!model_path.empty()) {
    LoadedModel lm = load_model_and_tokenizer(model_path);
    const Model& m = *lm.model;
    const int64_t vocab = m.hparams().n_vocab;
    const double bytes = static_cast<double>(weight_bytes_per_token(m.weights()));
    out["model"] = model_path;
    out["load_seconds"] = lm.load_seconds;
    out["weight_bytes_per_token"] = bytes;
    const LoraStack lora_stack = load_lora_stack(lora_args, m);
    const LoraStack* lora = lora_stack.empty() ? nullptr : &lora_stack;
    if (lora) {
      nlohmann::json files = nlohmann::json::array();
      int64_t params = 0;
      for (const LoraRef& r : lora_stack.refs) params += r.adapter->parameter_count();
      for (const std::string& a : lora_args) files.push_back(a);
      out["lora"] = files;
      out["lora_parameters"] = params;
    }
    std::vector<float> logits(vocab);
    // Warm-up: page the weights in and let the threads settle.
    time_decode(m, random_tokens(2, vocab, 1), lora, pool, logits);
    // Runs `time_run` `repeat` times on fresh random tokens; records tokens/s under `key`.
    auto measure = [&](const char* key, int n_tokens, auto time_run, uint64_t seed) {
      std::vector<double> tps;
      for (int r = 0; r < repeat; ++r)
        tps.push_back(n_tokens / time_run(m, random_tokens(n_tokens, vocab, seed + r), lora, pool, logits));
      const Stats s = stats(tps);
      out[std::string(key) + "_tokens_per_second"] = s.median;
      out[key] = to_json(s);
      return s;
    };
    if (prompt_tokens > 0) {
      out["prompt_tokens"] = prompt_tokens;
      measure("prefill", prompt_tokens, time_prefill, 100);
    }
    if (gen_tokens > 0) {
      out["gen_tokens"] = gen_tokens;
      const Stats s = measure("decode", gen_tokens, time_decode, 200);
      out["decode_gb_per_second"] = s.median * bytes / 1e9;
      if (machine_gbs > 0) out["decode_bandwidth_fraction"] = s.median * bytes / 1e9 / machine_gbs;
    }
  }

  if (json) {
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::printf("threads %d, kernels %s (%s)\n", pool.size(), kernels::active().name, cpu_features().describe().c_str());
  if (bandwidth) std::printf("machine read bandwidth   %8.1f GB/s\n", machine_gbs);
  if (out.contains("model"))
    std::printf("model %s: %.1f MB of weights per token\n", model_path.c_str(), out["weight_bytes_per_token"].get<double>() / 1e6);
  if (out.contains("lora"))
    std::printf("LoRA %s: %lld parameters, on every token\n", out["lora"].dump().c_str(),
                static_cast<long long>(out["lora_parameters"].get<int64_t>()));
  if (out.contains("prefill"))
    std::printf("prefill (pp%d)  %8.1f tok/s  (min %.1f, max %.1f)\n", prompt_tokens, out["prefill"]["median"].get<double>(),
                out["prefill"]["min"].get<double>(), out["prefill"]["max"].get<double>());
  if (out.contains("decode")) {
    std::printf("decode  (tg%d)  %8.1f tok/s  (min %.1f, max %.1f)  %.1f GB/s", gen_tokens, out["decode"]["median"].get<double>(),
                out["decode"]["min"].get<double>(), out["decode"]["max"].get<double>(), out["decode_gb_per_second"].get<double>());
    if (out.contains("decode_bandwidth_fraction"))
      std::printf(" = %.0f%% of the machine's", 100 * out["decode_bandwidth_fraction"].get<double>());
    std::printf("\n");
  }
  return 0;
}

const ToolRegistration reg{"bench", "measure prefill/decode tokens/s and memory bandwidth", run_bench};

}  // namespace
}  // namespace citadel
