// The attention softmax (scale, max, exponentials, normalisation) with every kernel set against a
// double-precision softmax, on the inputs that broke it before: a huge first score, all scores
// equal, a spread of +-80, the largest score last, a single position; at lengths that end in every
// SIMD tail.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/kernels/softmax.h"

namespace citadel {
namespace {

std::vector<double> softmax_double(const std::vector<float>& scores, double scale) {
  double max = -INFINITY;
  for (float s : scores) max = std::max(max, s * scale);
  std::vector<double> out(scores.size());
  double sum = 0;
  for (size_t i = 0; i < scores.size(); ++i) sum += out[i] = std::exp(scores[i] * scale - max);
  for (double& v : out) v /= sum;
  return out;
}

// Every set's softmax of `scores` against the double one: each weight within 2e-6 + 1e-5
// relative, finite, and the weights summing to 1.
void expect_softmax(const std::vector<float>& scores, float scale, const std::string& what) {
  const std::vector<double> want = softmax_double(scores, scale);
  for (const kernels::KernelSet* set : kernels::available()) {
    if (!set->exp_sum) continue;  // active() gives such a set the scalar one
    std::vector<float> got = scores;
    kernels::softmax(*set, got.data(), static_cast<int64_t>(got.size()), scale);
    double sum = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(std::isfinite(got[i])) << set->name << ", " << what << ": weight " << i << " is " << got[i];
      ASSERT_NEAR(got[i], want[i], 2e-6 + 1e-5 * want[i]) << set->name << ", " << what << ", n=" << got.size()
                                                          << ": weight " << i;
      sum += got[i];
    }
    EXPECT_NEAR(sum, 1.0, 1e-5) << set->name << ", " << what;
  }
}

const int kLengths[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000};
const float kScale = 0.08838834764f;  // 1 / sqrt(128)

TEST(Softmax, HugeFirstScore) {
  // An attention-sink head: q.k0 far above the rest. Before the scale is applied the first score
  // is sqrt(head size) times larger than after: taken as the max it flattened or NaN'd the head.
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0.0f, 4.0f);
  for (int n : kLengths)
    for (float first : {50.0f, 200.0f, 1000.0f, 1e4f, 1e6f}) {
      std::vector<float> s(n);
      for (float& v : s) v = noise(rng);
      s[0] = first;
      expect_softmax(s, kScale, "first score " + std::to_string(first));
      s[0] = -first;  // and hugely negative
      expect_softmax(s, kScale, "first score " + std::to_string(-first));
    }
}

TEST(Softmax, AllScoresEqual) {
  for (int n : kLengths)
    for (float v : {0.0f, 1.0f, -3000.0f, 3000.0f}) {
      expect_softmax(std::vector<float>(n, v), kScale, "all " + std::to_string(v));
      std::vector<float> got(n, v);
      kernels::softmax(kernels::active(), got.data(), n, kScale);
      for (float w : got) EXPECT_FLOAT_EQ(w, 1.0f / static_cast<float>(n));
    }
}

TEST(Softmax, SpreadOfEightyEachWay) {
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> spread(-80.0f, 80.0f);
  for (int n : kLengths) {
    std::vector<float> s(n);
    for (float& v : s) v = spread(rng);
    expect_softmax(s, 1.0f, "spread +-80");
    s[0] = -80.0f;  // the first one the smallest, the last the largest
    if (n > 1) s[n - 1] = 80.0f;
    expect_softmax(s, 1.0f, "spread +-80, -80 first, +80 last");
  }
}

TEST(Softmax, LargestScoreLast) {
  for (int n : kLengths) {
    std::vector<float> s(n);
    for (int i = 0; i < n; ++i) s[i] = 30.0f * static_cast<float>(i);  // rising: the max is found last
    expect_softmax(s, kScale, "rising scores");
  }
}

TEST(Softmax, SinglePosition) {
  for (float v : {0.0f, -1e6f, 1e6f, 87.5f}) {
    for (const kernels::KernelSet* set : kernels::available()) {
      if (!set->exp_sum) continue;
      float x = v;
      kernels::softmax(*set, &x, 1, kScale);
      EXPECT_EQ(x, 1.0f) << set->name << " score " << v;
    }
  }
}

TEST(Softmax, NaNScoreIsNotHidden) {
  // A non-finite score must surface (the engine then fails the request), never become weights.
  std::vector<float> s = {1.0f, NAN, 2.0f, 0.5f, 3.0f, 1.0f, 0.0f, 2.0f, 1.0f};
  for (const kernels::KernelSet* set : kernels::available()) {
    if (!set->exp_sum) continue;
    std::vector<float> got = s;
    kernels::softmax(*set, got.data(), static_cast<int64_t>(got.size()), kScale);
    EXPECT_TRUE(std::isnan(got[1])) << set->name;
  }
}

// The online form (flash attention) over 16-score blocks, as the attention runs it, against the
// double softmax of the whole row: up to 4100 positions, with an attention sink, scores rising
// (the max moves up in every block), and the largest at the very end.
std::vector<float> online_softmax(const kernels::KernelSet& set, std::vector<float> x, float scale) {
  const int64_t n = static_cast<int64_t>(x.size()), kBlock = 16;
  float max = -INFINITY, sum = 0.0f;
  std::vector<float> factor;  // per block
  for (int64_t b = 0; b * kBlock < n; ++b)
    factor.push_back(kernels::softmax_block(set, x.data() + b * kBlock, std::min(kBlock, n - b * kBlock), scale, &max, &sum));
  float later = 1.0f;  // product of the factors of the blocks after b
  for (int64_t b = static_cast<int64_t>(factor.size()) - 1; b >= 0; --b) {
    for (int64_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) x[i] *= later / sum;
    later *= factor[b];
  }
  return x;
}

TEST(Softmax, OnlineOverBlocksMatchesDoubleAtLongLengths) {
  std::mt19937 rng(5);
  std::normal_distribution<float> noise(0.0f, 8.0f);
  for (int n : {1, 15, 16, 17, 100, 2048, 2100, 4100}) {
    std::vector<std::pair<std::string, std::vector<float>>> rows;
    std::vector<float> s(n);
    for (float& v : s) v = noise(rng);
    rows.emplace_back("noise", s);
    s[0] = 1000.0f;
    rows.emplace_back("sink first", s);
    for (int i = 0; i < n; ++i) s[i] = 0.5f * static_cast<float>(i);
    rows.emplace_back("rising", s);
    for (int i = 0; i < n; ++i) s[i] = noise(rng);
    s[n - 1] = 500.0f;
    rows.emplace_back("largest last", s);
    for (const auto& [what, scores] : rows) {
      const std::vector<double> want = softmax_double(scores, kScale);
      for (const kernels::KernelSet* set : kernels::available()) {
        if (!set->exp_sum) continue;
        const std::vector<float> got = online_softmax(*set, scores, kScale);
        double sum = 0;
        for (int i = 0; i < n; ++i) {
          ASSERT_NEAR(got[i], want[i], 2e-6 + 1e-5 * want[i]) << set->name << ", " << what << ", n=" << n << ": weight " << i;
          sum += got[i];
        }
        EXPECT_NEAR(sum, 1.0, 1e-5) << set->name << ", " << what << ", n=" << n;
      }
    }
  }
}

TEST(Softmax, OnlineNaNInALaterBlockIsNotHidden) {
  for (const kernels::KernelSet* set : kernels::available()) {
    if (!set->exp_sum) continue;
    std::vector<float> s(100, 1.0f);
    s[70] = NAN;
    const std::vector<float> got = online_softmax(*set, s, kScale);
    EXPECT_TRUE(std::isnan(got[70])) << set->name;
    EXPECT_TRUE(std::isnan(got[0])) << set->name << ": the sum carries the NaN to every weight";
  }
}

}  // namespace
}  // namespace citadel
