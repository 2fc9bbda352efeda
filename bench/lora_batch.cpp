// Decode speed of a batch of sequences whose rows carry 0 (the base alone), 1, 2 or 4 different
// LoRA adapters, in one forward pass per step: the base matmul is shared by every row, each group
// of rows gets its own B (A x) (model/lora_apply.h). The adapters are random, rank R, on all seven
// projections (finetune's --targets all); the cost of an adapter is its FLOPs, not its values.
// Also the base alone with one sequence, for the batching gain. Median of 5 rounds (each round runs
// every configuration once), tokens/s summed over the batch. Build after the citadel libraries (build-lora here):
//   g++ -O2 -std=c++20 -Isrc bench/lora_batch.cpp build-lora/libcitadel_model.a build-lora/libcitadel_core.a \
//       -lcrypto -lpthread -o /tmp/lora_batch && /tmp/lora_batch models/stories260K.gguf [threads] [batch] [steps] [rank]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "model/batch.h"
#include "model/kv_cache.h"
#include "model/lora_adapter.h"
#include "model/model.h"
#include "model/weights.h"

using namespace citadel;

namespace {

std::shared_ptr<const LoraStack> random_stack(const Model& m, int rank, uint32_t seed) {
  auto a = std::make_shared<LoraAdapter>();
  a->arch = m.hparams().arch;
  a->alpha = 2.0f * rank;
  a->layers.resize(m.hparams().n_layer);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  for (size_t il = 0; il < a->layers.size(); ++il)
    for (int t = 0; t < kLoraTargetCount; ++t) {
      const Tensor& w = lora_base_weight(m.weights().layers[il], static_cast<LoraTarget>(t));
      LoraPair& p = a->layers[il][t];
      p.rank = rank, p.in = w.cols(), p.out = w.rows();
      p.a.resize(rank * p.in), p.b.resize(p.out * rank);
      for (float& v : p.a) v = dist(rng);
      for (float& v : p.b) v = dist(rng);
    }
  a->check_fits(m);
  auto s = std::make_shared<LoraStack>();
  s->refs.push_back({a, 1.0f});
  s->seal();
  return s;
}

// `steps` decode steps of `n_seq` sequences (one row each, row i with adapters[i % size], none
// when `adapters` is empty), after a 16-token prompt each; returns tokens/s over all rows.
double decode_tps(const Model& m, ThreadPool& pool, int n_seq, int steps,
                  const std::vector<std::shared_ptr<const LoraStack>>& adapters) {
  const int prompt = 16;
  KvCache kv(m.hparams(), KvCache::blocks_for(prompt + steps, n_seq));
  std::vector<int32_t> seqs;
  for (int s = 0; s < n_seq; ++s) {
    seqs.push_back(kv.add_sequence());
    kv.reserve(seqs.back(), prompt + steps);
  }
  const int64_t vocab = m.hparams().n_vocab;
  auto lora_of = [&](int s) { return adapters.empty() ? nullptr : adapters[s % adapters.size()].get(); };
  std::vector<float> logits(static_cast<size_t>(n_seq * vocab));
  std::mt19937 rng(7);
  Batch b;
  for (int s = 0; s < n_seq; ++s)
    for (int p = 0; p < prompt; ++p) b.add(static_cast<int32_t>(rng() % vocab), p, seqs[s], p + 1 == prompt, lora_of(s));
  m.forward(b, kv, pool, logits.data());
  const auto t0 = std::chrono::steady_clock::now();
  for (int step = 0; step < steps; ++step) {
    b.clear();
    for (int s = 0; s < n_seq; ++s) b.add(static_cast<int32_t>(rng() % vocab), prompt + step, seqs[s], true, lora_of(s));
    m.forward(b, kv, pool, logits.data());
  }
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return n_seq * steps / sec;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: lora_batch MODEL [threads] [batch=4] [steps=64] [rank=8]\n");
    return 2;
  }
  const int threads = argc > 2 ? std::atoi(argv[2]) : 0, batch = argc > 3 ? std::atoi(argv[3]) : 4,
            steps = argc > 4 ? std::atoi(argv[4]) : 64, rank = argc > 5 ? std::atoi(argv[5]) : 8;
  auto m = Model::load(argv[1]);
  ThreadPool pool(threads);
  std::vector<std::shared_ptr<const LoraStack>> all;
  for (int i = 0; i < 4; ++i) all.push_back(random_stack(*m, rank, 1 + i));
  std::printf("model %s, %d threads, batch of %d sequences, %d decode steps, adapters of rank %d on 7 projections\n",
              argv[1], pool.size(), batch, steps, rank);
  decode_tps(*m, pool, batch, 4, {});  // warm-up
  // Rounds over every configuration in turn, so a shared machine's load drifts over all alike.
  const int rounds = 5;
  std::vector<std::vector<double>> tps(5);
  for (int r = 0; r < rounds; ++r) {
    tps[0].push_back(decode_tps(*m, pool, 1, steps, {}));
    tps[1].push_back(decode_tps(*m, pool, batch, steps, {}));
    for (int i = 0, k = 1; k <= 4; k *= 2, ++i)
      tps[2 + i].push_back(decode_tps(*m, pool, batch, steps, {all.begin(), all.begin() + k}));
  }
  const double base = median(tps[1]);
  std::printf("%-34s %10.1f tok/s\n", "base alone, 1 sequence", median(tps[0]));
  std::printf("%-34s %10.1f tok/s  (1.00x)\n", "base alone, batch", base);
  for (int i = 0, k = 1; k <= 4; k *= 2, ++i) {
    char label[64];
    std::snprintf(label, sizeof label, "%d different adapter%s, batch", k, k > 1 ? "s" : "");
    std::printf("%-34s %10.1f tok/s  (%.2fx)\n", label, median(tps[2 + i]), median(tps[2 + i]) / base);
  }
  return 0;
}
