// Every op of the training backward against central finite differences of its forward.
// Each op's scalar loss is sum(dy * y(inputs)) for a fixed random dy, so d(loss)/d(input) is what
// the backward returns; differences are taken in float with a step of 1e-2 (relative errors
// of a few 1e-3 are rounding, a wrong formula is off by O(1)).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "core/gemm_f32.h"
#include "train/attention.h"
#include "train/loss.h"
#include "train/row_ops.h"

using namespace citadel;

namespace {

std::vector<float> random_vec(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// Compares `analytic` with finite differences of `loss` in every entry of `x`.
void expect_gradient(std::vector<float>& x, const std::vector<float>& analytic, const std::function<double()>& loss,
                     const char* what, double tol = 5e-3) {
  ASSERT_EQ(x.size(), analytic.size()) << what;
  const float h = 1e-2f;
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float keep = x[i];
    x[i] = keep + h;
    const double up = loss();
    x[i] = keep - h;
    const double down = loss();
    x[i] = keep;
    const double fd = (up - down) / (2 * h);
    const double err = std::abs(fd - analytic[i]) / (std::abs(fd) + std::abs(analytic[i]) + 1e-2);
    worst = std::max(worst, err);
    EXPECT_LT(err, tol) << what << "[" << i << "]: analytic " << analytic[i] << ", finite differences " << fd;
  }
  ::testing::Test::RecordProperty(what, std::to_string(worst));
}

}  // namespace

TEST(OpGradient, RmsNorm) {
  ThreadPool pool(2);
  const int64_t n = 3, dim = 16;
  auto x = random_vec(n * dim, 1), w = random_vec(dim, 2), dy = random_vec(n * dim, 3);
  auto loss = [&] {
    std::vector<float> y(n * dim), r(n);
    rms_norm_forward(x.data(), w.data(), y.data(), r.data(), n, dim, 1e-5f, pool);
    return dot(y, dy);
  };
  std::vector<float> y(n * dim), r(n), dx(n * dim), dw(dim, 0.0f);
  rms_norm_forward(x.data(), w.data(), y.data(), r.data(), n, dim, 1e-5f, pool);
  rms_norm_backward(x.data(), w.data(), r.data(), dy.data(), dx.data(), dw.data(), n, dim, false, pool);
  expect_gradient(x, dx, loss, "rms_norm dx");
  expect_gradient(w, dw, loss, "rms_norm dw");
}

TEST(OpGradient, RopeBothStyles) {
  ThreadPool pool(2);
  const int64_t n = 4, heads = 2, hd = 8;
  const std::vector<int32_t> pos = {0, 1, 7, 300};
  for (RopeStyle style : {RopeStyle::Adjacent, RopeStyle::NeoX}) {
    const RopeParams p{6, hd, 10000.0f, 1.0f, nullptr, style};  // partial rotation: 6 of 8
    auto x = random_vec(n * heads * hd, 4), dy = random_vec(n * heads * hd, 5);
    auto loss = [&] {
      auto y = x;
      rope_rows(p, pos.data(), y.data(), n, heads, false, pool);
      return dot(y, dy);
    };
    auto dx = dy;
    rope_rows(p, pos.data(), dx.data(), n, heads, true, pool);
    expect_gradient(x, dx, loss, style == RopeStyle::NeoX ? "rope neox" : "rope adjacent");
  }
}

TEST(OpGradient, SiluMul) {
  const int64_t n = 32;
  auto g = random_vec(n, 6, 2.0f), u = random_vec(n, 7), dy = random_vec(n, 8);
  auto loss = [&] {
    std::vector<float> a(n);
    silu_mul_forward(g.data(), u.data(), a.data(), n);
    return dot(a, dy);
  };
  std::vector<float> dg(n), du(n);
  silu_mul_backward(g.data(), u.data(), dy.data(), dg.data(), du.data(), n);
  expect_gradient(g, dg, loss, "silu_mul dgate");
  expect_gradient(u, du, loss, "silu_mul dup");
}

TEST(OpGradient, CausalGroupedQueryAttentionOverPackedSequences) {
  ThreadPool pool(2);
  const AttentionShape s{4, 2, 8};  // two query heads per KV head
  const std::vector<int64_t> starts = {0, 5};
  const int64_t rows = 8;
  auto q = random_vec(rows * s.q_dim(), 9), k = random_vec(rows * s.kv_dim(), 10), v = random_vec(rows * s.kv_dim(), 11);
  auto dout = random_vec(rows * s.q_dim(), 12);
  auto loss = [&] {
    std::vector<float> o(rows * s.q_dim()), lse(rows * s.n_head);
    attention_forward(s, starts, rows, q.data(), k.data(), v.data(), o.data(), lse.data(), pool);
    return dot(o, dout);
  };
  std::vector<float> o(rows * s.q_dim()), lse(rows * s.n_head);
  attention_forward(s, starts, rows, q.data(), k.data(), v.data(), o.data(), lse.data(), pool);
  std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
  attention_backward(s, starts, rows, q.data(), k.data(), v.data(), o.data(), lse.data(), dout.data(), dq.data(),
                     dk.data(), dv.data(), pool);
  expect_gradient(q, dq, loss, "attention dq");
  expect_gradient(k, dk, loss, "attention dk");
  expect_gradient(v, dv, loss, "attention dv");
}

TEST(OpGradient, AttentionIsCausalAndStaysInItsSequence) {
  ThreadPool pool(1);
  const AttentionShape s{2, 1, 4};
  const std::vector<int64_t> starts = {0, 3};
  const int64_t rows = 6;
  auto q = random_vec(rows * s.q_dim(), 13), k = random_vec(rows * s.kv_dim(), 14), v = random_vec(rows * s.kv_dim(), 15);
  std::vector<float> o1(rows * s.q_dim()), o2(o1.size()), lse(rows * s.n_head);
  attention_forward(s, starts, rows, q.data(), k.data(), v.data(), o1.data(), lse.data(), pool);
  // Changing a later token, or a token of the other sequence, leaves row 1's output alone.
  k[2 * s.kv_dim()] += 5, v[4 * s.kv_dim()] += 5;
  attention_forward(s, starts, rows, q.data(), k.data(), v.data(), o2.data(), lse.data(), pool);
  for (int64_t i = 0; i < 2 * s.q_dim(); ++i) EXPECT_EQ(o1[i], o2[i]);
  // The first token of the second sequence attends to itself only: its output is its V.
  for (int64_t h = 0; h < s.n_head; ++h)
    for (int64_t i = 0; i < s.head_dim; ++i) EXPECT_NEAR(o2[3 * s.q_dim() + h * 4 + i], v[3 * s.kv_dim() + i], 1e-6);
}

TEST(OpGradient, CrossEntropyAndTopKDistillation) {
  ThreadPool pool(2);
  const int64_t m = 3, vocab = 10;
  const int k = 3;
  auto z = random_vec(m * vocab, 16, 2.0f);
  const std::vector<int32_t> targets = {1, 7, 3};
  const std::vector<int32_t> ids = {1, 2, 5, 7, 0, 9, 4, 3, 8};
  const std::vector<float> probs = {0.6f, 0.3f, 0.1f, 0.5f, 0.25f, 0.25f, 0.7f, 0.2f, 0.1f};
  const LossWeights w{0.4f, 0.6f};
  auto loss = [&] {
    auto copy = z;
    return loss_rows(copy.data(), m, vocab, targets.data(), k, ids.data(), probs.data(), w, 0.0f, pool).total(w);
  };
  auto grad = z;
  const LossSums s = loss_rows(grad.data(), m, vocab, targets.data(), k, ids.data(), probs.data(), w, 1.0f, pool);
  EXPECT_EQ(s.rows, 3);
  EXPECT_GT(s.kl, 0.0);
  expect_gradient(z, grad, loss, "loss dlogits");
  // The KL to a one-hot teacher on the target is the cross-entropy.
  const std::vector<float> one_hot = {1, 0, 0, 1, 0, 0, 1, 0, 0};
  const std::vector<int32_t> top = {1, 0, 2, 7, 0, 1, 3, 0, 1};
  auto copy = z;
  const LossSums t = loss_rows(copy.data(), m, vocab, targets.data(), k, top.data(), one_hot.data(), w, 0.0f, pool);
  EXPECT_NEAR(t.kl, t.ce, 1e-9);
}

TEST(OpGradient, FloatProductsMatchNaiveLoops) {
  ThreadPool pool(2);
  const int64_t n = 37, m = 70, k = 19;
  auto a = random_vec(n * k, 17), b = random_vec(m * k, 18), b2 = random_vec(k * m, 19), c2 = random_vec(n * m, 20);
  std::vector<float> c(n * m);
  gemm_abt(a.data(), b.data(), c.data(), n, m, k, pool);
  auto acc = c2;
  gemm_ab_acc(a.data(), b2.data(), acc.data(), n, m, k, pool);
  std::vector<float> g(k * m, 1.0f);
  gemm_atb_acc(a.data(), c2.data(), g.data(), n, k, m, pool);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double s = 0, s2 = c2[i * m + j];
      for (int64_t p = 0; p < k; ++p) s += double(a[i * k + p]) * b[j * k + p], s2 += double(a[i * k + p]) * b2[p * m + j];
      EXPECT_NEAR(c[i * m + j], s, 1e-4);
      EXPECT_NEAR(acc[i * m + j], s2, 1e-4);
    }
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < m; ++j) {
      double s = 1;
      for (int64_t i = 0; i < n; ++i) s += double(a[i * k + p]) * c2[i * m + j];
      EXPECT_NEAR(g[p * m + j], s, 1e-4);
    }
}
