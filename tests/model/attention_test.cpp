// The online (flash-attention) attention against a double-precision softmax attention at long
// contexts (2k-4k positions, far more than the reference-fidelity models reach), with every
// kernel set, f32 and f16 KV, grouped-query heads, an attention-sink key, a batch that holds the
// tail of a long prompt next to other sequences' single tokens, and 1 and 3 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/fp16.h"
#include "core/kernels/kernels.h"
#include "model/attention.h"
#include "model/hparams.h"

using namespace citadel;

namespace {

constexpr int64_t kHeads = 4, kKvHeads = 2, kHeadDim = 64;

struct Sequence {
  int32_t id;
  int64_t length;                  // positions in the cache
  std::vector<float> k, v;         // length x kv_dim, as stored (f16-rounded for an f16 cache)
};

// out[h] = sum_p softmax_p(scale q_h . k_p) v_p over positions 0..pos, in double.
std::vector<double> reference(const Sequence& s, const float* q, int64_t pos, double scale) {
  const int64_t kv_dim = kKvHeads * kHeadDim, group = kHeads / kKvHeads;
  std::vector<double> out(kHeads * kHeadDim, 0.0);
  for (int64_t h = 0; h < kHeads; ++h) {
    const int64_t kvh = h / group;
    std::vector<double> w(pos + 1);
    double max = -INFINITY, sum = 0;
    for (int64_t p = 0; p <= pos; ++p) {
      double d = 0;
      for (int64_t j = 0; j < kHeadDim; ++j) d += double{q[h * kHeadDim + j]} * s.k[p * kv_dim + kvh * kHeadDim + j];
      max = std::max(max, w[p] = d * scale);
    }
    for (double& x : w) sum += x = std::exp(x - max);
    for (int64_t p = 0; p <= pos; ++p)
      for (int64_t j = 0; j < kHeadDim; ++j) out[h * kHeadDim + j] += w[p] / sum * s.v[p * kv_dim + kvh * kHeadDim + j];
  }
  return out;
}

class KernelSetGuard {
 public:
  ~KernelSetGuard() { kernels::use_for_testing(saved_); }

 private:
  const kernels::KernelSet saved_ = kernels::active();
};

TEST(Attention, OnlineSoftmaxMatchesDoubleAtLongContexts) {
  KernelSetGuard guard;
  HParams hp;
  hp.n_layer = 1;
  hp.n_head = kHeads;
  hp.n_head_kv = kKvHeads;
  hp.head_dim = kHeadDim;
  const int64_t kv_dim = hp.kv_dim(), q_dim = kHeads * kHeadDim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(kHeadDim));
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (KvType type : {KvType::F32, KvType::F16}) {
    KvCache kv(hp, KvCache::blocks_for(4100, 3), type);
    // A long prompt whose last 40 positions are in the batch, and two short sequences decoding.
    std::vector<Sequence> seqs;
    for (int64_t length : {2100, 4100, 37}) {
      Sequence s{kv.add_sequence(), length, std::vector<float>(length * kv_dim), std::vector<float>(length * kv_dim)};
      kv.reserve(s.id, length);
      for (float& x : s.k) x = normal(rng);
      for (float& x : s.v) x = normal(rng);
      for (int64_t j = 0; j < kv_dim; ++j) s.k[j] *= 12.0f;  // position 0 a sink: scores up to ~100
      if (type == KvType::F16)
        for (auto* vec : {&s.k, &s.v})
          for (float& x : *vec) x = fp16_to_fp32(fp32_to_fp16(x));
      for (int64_t p = 0; p < length; ++p) kv.store(0, s.id, p, s.k.data() + p * kv_dim, s.v.data() + p * kv_dim);
      seqs.push_back(std::move(s));
    }
    Batch batch;
    std::vector<const Sequence*> of_row;
    for (int64_t p = 2060; p < 2100; ++p) batch.add(0, static_cast<int32_t>(p), seqs[0].id, true), of_row.push_back(&seqs[0]);
    batch.add(0, 4099, seqs[1].id, true), of_row.push_back(&seqs[1]);
    batch.add(0, 36, seqs[2].id, true), of_row.push_back(&seqs[2]);
    std::vector<float> q(batch.size() * q_dim);
    for (float& x : q) x = normal(rng);
    for (const kernels::KernelSet* set : kernels::available()) {
      kernels::use_for_testing(*set);
      for (int threads : {1, 3}) {
        ThreadPool pool(threads);
        std::vector<float> out(q.size(), NAN);
        attention({kHeads, kKvHeads, kHeadDim}, batch, q.data(), kv, 0, scale, out.data(), pool);
        double worst = 0;
        for (int64_t t = 0; t < batch.size(); ++t) {
          const std::vector<double> want = reference(*of_row[t], q.data() + t * q_dim, batch.positions[t], scale);
          for (int64_t i = 0; i < q_dim; ++i) {
            ASSERT_TRUE(std::isfinite(out[t * q_dim + i])) << set->name << " row " << t;
            worst = std::max(worst, std::fabs(out[t * q_dim + i] - want[i]));
          }
        }
        // Outputs are weighted means of N(0, 1) values. Measured worst 1.1e-5 (the float rounding
        // of scores up to ~100); without the rescale of earlier blocks it was 0.29.
        EXPECT_LT(worst, 5e-5) << set->name << (type == KvType::F16 ? ", f16" : ", f32") << " KV, " << threads
                               << " threads";
      }
    }
  }
}

}  // namespace
