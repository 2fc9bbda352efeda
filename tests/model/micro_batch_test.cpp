// Model::forward runs a batch of more than 512 tokens as consecutive micro-batches: the logits of
// the tokens that ask for them, in batch order, and every token's hidden state must be those of
// the same tokens run in small batches — also when two sequences share the batch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "model/model.h"
#include "model/synthetic_model.h"

using namespace citadel;

namespace {

struct Outputs {
  std::vector<float> logits, hidden;
};

// Tokens of n_seq sequences, interleaved in runs of 37 (so micro-batch edges fall inside a
// sequence's run), through `m` in batches of at most `batch` tokens; every 97th token and each
// sequence's last ask for logits.
Outputs run_batches(const Model& m, int64_t per_seq, int n_seq, int64_t batch, ThreadPool& pool) {
  const int64_t V = m.hparams().n_vocab, d = m.hparams().n_embd;
  KvCache kv(m.hparams(), KvCache::blocks_for(per_seq, n_seq));
  std::vector<int32_t> seqs;
  for (int s = 0; s < n_seq; ++s) {
    seqs.push_back(kv.add_sequence());
    kv.reserve(seqs.back(), per_seq);
  }
  Batch all;
  for (int64_t p0 = 0; p0 < per_seq; p0 += 37)
    for (int s = 0; s < n_seq; ++s)
      for (int64_t p = p0; p < std::min(per_seq, p0 + 37); ++p) {
        const int64_t i = all.size();
        all.add(static_cast<int32_t>(1 + (p * 31 + s * 7) % (V - 1)), static_cast<int32_t>(p), seqs[s],
                i % 97 == 0 || p == per_seq - 1);
      }
  Outputs out;
  out.logits.assign(all.n_outputs() * V, NAN);
  out.hidden.assign(all.size() * d, NAN);
  int64_t outputs = 0;
  for (int64_t b0 = 0; b0 < all.size(); b0 += batch) {
    Batch b;
    for (int64_t i = b0; i < std::min(all.size(), b0 + batch); ++i)
      b.add(all.tokens[i], all.positions[i], all.seq_ids[i], all.want_logits[i] != 0);
    m.forward(b, kv, pool, out.logits.data() + outputs * V, out.hidden.data() + b0 * d);
    outputs += b.n_outputs();
  }
  return out;
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::isfinite(a[i]) && std::isfinite(b[i]) ? std::fabs(a[i] - b[i]) : INFINITY);
  return m;
}

}  // namespace

TEST(MicroBatch, ALongBatchGivesWhatSmallBatchesGive) {
  char tmpl[] = "/tmp/citadel-micro-XXXXXX";
  const std::string path = std::string(::mkdtemp(tmpl)) + "/llama-tiny.gguf";
  ThreadPool pool(2);
  write_synthetic_model(*find_model_shape("llama-tiny"), SynthOptions{}, path, pool);
  auto m = Model::load(path);
  for (int n_seq : {1, 2}) {
    SCOPED_TRACE(std::to_string(n_seq) + " sequence(s)");
    const int64_t per_seq = 1300 / n_seq;  // 1300 tokens: three micro-batches, the last partial
    const Outputs whole = run_batches(*m, per_seq, n_seq, 1300, pool);
    const Outputs small = run_batches(*m, per_seq, n_seq, 100, pool);
    ASSERT_EQ(whole.logits.size(), small.logits.size());
    // f32 weights: the paths differ only in the order of float additions.
    EXPECT_LT(max_diff(whole.logits, small.logits), 1e-3f);
    EXPECT_LT(max_diff(whole.hidden, small.hidden), 1e-3f);
  }
  std::remove(path.c_str());
}
