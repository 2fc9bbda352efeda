// kernels::AttendBlock, the flash-attention step over one or two KV blocks, with every kernel set: a few
// blocks in a row (the last one seen in part by some queries, a later one not at all by others)
// against a double-precision softmax-weighted sum, for f32 and fp16 keys and values, head sizes
// on and off the vector widths, 1..9 queries (the sets take them 4 at a time), scores up to the
// hundreds (attention-sink heads), and a NaN key that must reach its query's output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/fp16.h"
#include "core/kernels/kernels.h"

namespace citadel {
namespace {

constexpr int kKeys = kernels::AttendBlock::kKeys;

struct Problem {
  int64_t hd, v_stride;
  int n_blocks;
  bool f16;
  std::vector<float> keys;    // [block][hd][kKeys], as the kernel reads them (fp16-rounded when f16)
  std::vector<float> values;  // [block][kKeys][v_stride]
  std::vector<std::vector<float>> q;
  std::vector<int> positions;  // per query: how many positions it sees (1 .. n_blocks * kKeys)
};

Problem make_problem(int64_t hd, int nq, int n_blocks, bool f16, float magnitude, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Problem p{hd, hd + 5, n_blocks, f16, {}, {}, {}, {}};
  auto round = [&](float v) { return f16 ? fp16_to_fp32(fp32_to_fp16(v)) : v; };
  p.keys.resize(n_blocks * hd * kKeys);
  for (float& v : p.keys) v = round(dist(rng) * magnitude);
  p.values.resize(n_blocks * kKeys * p.v_stride);
  for (float& v : p.values) v = round(dist(rng));
  std::uniform_int_distribution<int> seen(1, n_blocks * kKeys);
  for (int i = 0; i < nq; ++i) {
    p.q.emplace_back(hd);
    for (float& v : p.q.back()) v = dist(rng) * magnitude;
    // The first query sees every position; the others end anywhere, some inside the last block.
    p.positions.push_back(i == 0 ? n_blocks * kKeys - (n_blocks > 1 ? 5 : 0) : seen(rng));
  }
  return p;
}

// The attention output of every query (hd values each) through set.attend_block, `per_call`
// blocks at a time (the last call takes what is left).
std::vector<float> run(const kernels::KernelSet& set, const Problem& p, float scale, int per_call) {
  const int nq = static_cast<int>(p.q.size());
  std::vector<float> max(nq, -INFINITY), sum(nq, 0.0f), acc(nq * p.hd, 0.0f);
  std::vector<const float*> q;
  for (const auto& row : p.q) q.push_back(row.data());
  std::vector<uint16_t> keys16(p.keys.size()), values16(p.values.size());
  for (size_t i = 0; i < p.keys.size(); ++i) keys16[i] = fp32_to_fp16(p.keys[i]);
  for (size_t i = 0; i < p.values.size(); ++i) values16[i] = fp32_to_fp16(p.values[i]);
  std::vector<int> seen(nq);
  for (int b = 0; b < p.n_blocks; b += per_call) {
    const int n_blocks = std::min(per_call, p.n_blocks - b);
    for (int i = 0; i < nq; ++i) seen[i] = std::clamp(p.positions[i] - b * kKeys, 0, n_blocks * kKeys);
    kernels::AttendBlock a{n_blocks, {}, {}, p.v_stride, p.f16, p.hd, scale, nq, q.data(), seen.data(), max.data(),
                           sum.data(), acc.data()};
    for (int k = 0; k < n_blocks; ++k) {
      const size_t k0 = (b + k) * p.hd * kKeys, v0 = (b + k) * kKeys * p.v_stride;
      a.keys[k] = p.f16 ? static_cast<const void*>(keys16.data() + k0) : p.keys.data() + k0;
      a.values[k] = p.f16 ? static_cast<const void*>(values16.data() + v0) : p.values.data() + v0;
    }
    set.attend_block(a);
  }
  for (int i = 0; i < nq; ++i)
    for (int64_t j = 0; j < p.hd; ++j) acc[i * p.hd + j] /= sum[i];
  return acc;
}

std::vector<double> reference(const Problem& p, double scale) {
  std::vector<double> out;
  for (size_t i = 0; i < p.q.size(); ++i) {
    const int n = p.positions[i];
    std::vector<double> s(n);
    double max = -INFINITY;
    for (int pos = 0; pos < n; ++pos) {
      const int b = pos / kKeys, r = pos % kKeys;
      double dot = 0;
      for (int64_t j = 0; j < p.hd; ++j) dot += static_cast<double>(p.q[i][j]) * p.keys[(b * p.hd + j) * kKeys + r];
      s[pos] = scale * dot;
      max = std::max(max, s[pos]);
    }
    double total = 0;
    for (double& v : s) total += v = std::exp(v - max);
    for (int64_t j = 0; j < p.hd; ++j) {
      double o = 0;
      for (int pos = 0; pos < n; ++pos)
        o += s[pos] * p.values[(pos / kKeys * kKeys + pos % kKeys) * p.v_stride + j];
      out.push_back(o / total);
    }
  }
  return out;
}

TEST(AttendBlock, EverySetMatchesADoubleSoftmaxOverSeveralBlocks) {
  std::mt19937 rng(53);
  int cases = 0;
  for (const kernels::KernelSet* set : kernels::available()) {
    if (!set->attend_block) continue;  // active() gives such a set the scalar one
    for (bool f16 : {false, true})
      for (int64_t hd : {8, 16, 40, 64, 128})
        for (int nq : {1, 3, 4, 5, 9})
          for (int n_blocks : {1, 3})
            for (float magnitude : {1.0f, 4.0f})  // 4: scores of +-100s, one key takes almost all weight
              for (int per_call = 1; per_call <= kernels::AttendBlock::kMaxBlocks; ++per_call) {
                const Problem p = make_problem(hd, nq, n_blocks, f16, magnitude, rng);
                const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
                const std::vector<float> got = run(*set, p, scale, per_call);
                const std::vector<double> want = reference(p, scale);
                // float scores carry ~1e-7 relative error of sum |q_j k_j|, which the exponential
                // turns into a relative error of the weights: up to ~1e-4 at magnitude 4.
                const double tol = magnitude > 1 ? 2e-3 : 2e-5;
                for (size_t k = 0; k < got.size(); ++k) {
                  ASSERT_TRUE(std::isfinite(got[k])) << set->name;
                  ASSERT_NEAR(got[k], want[k], tol * (1 + std::fabs(want[k])))
                      << set->name << (f16 ? " f16" : " f32") << " hd=" << hd << " queries=" << nq
                      << " blocks=" << n_blocks << " per call " << per_call << " magnitude=" << magnitude
                      << " query " << k / hd;
                }
                ++cases;
              }
  }
  EXPECT_GE(cases, 400);
}

TEST(AttendBlock, ANanKeyReachesItsQueryOnly) {
  std::mt19937 rng(59);
  for (const kernels::KernelSet* set : kernels::available()) {
    if (!set->attend_block) continue;
    Problem p = make_problem(64, 5, 2, false, 1.0f, rng);
    p.positions = {32, 32, 32, 32, 3};  // query 4 sees positions 0..2 only
    p.keys[(1 * 64 + 7) * kKeys + 4] = NAN;  // block 1, value 7 of key 4 (position 20)
    for (int per_call = 1; per_call <= kernels::AttendBlock::kMaxBlocks; ++per_call) {
      const std::vector<float> got = run(*set, p, 0.125f, per_call);
      for (int i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 64; ++j) ASSERT_TRUE(std::isnan(got[i * 64 + j])) << set->name << " query " << i;
      for (int64_t j = 0; j < 64; ++j) ASSERT_TRUE(std::isfinite(got[4 * 64 + j])) << set->name << " query 4";
    }
  }
}

}  // namespace
}  // namespace citadel
