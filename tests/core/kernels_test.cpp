// Every SIMD kernel set against the scalar set, on random blocks of every type and many sizes;
// the scalar set against the float reference (dot_row); matmul over every batch size.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/fp16.h"
#include "core/kernels/kernels.h"
#include "core/matmul.h"
#include "core/quant.h"

namespace citadel {
namespace {

const TensorType kTypes[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q8_0,
                             TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1,
                             TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K};

std::vector<float> random_floats(int64_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// A weight row of `type` quantized from random floats (so the scales are realistic), with a few
// outliers so the extreme levels (e.g. -128 in Q8_0, 0 and 15 in Q4) occur.
std::vector<uint8_t> random_row(TensorType type, int64_t n, std::mt19937& rng) {
  std::vector<float> f = random_floats(n, rng);
  for (int64_t i = 0; i < n; i += 37) f[i] *= 8;
  std::vector<uint8_t> row(row_bytes(type, n));
  quantize_row(type, f.data(), row.data(), n);
  return row;
}

// Sizes to try: 1..9 blocks and a long row; float types also get odd lengths (vector tails).
std::vector<int64_t> sizes(TensorType type) {
  const int64_t bs = type_traits(type).block_size;
  std::vector<int64_t> s;
  for (int64_t b = 1; b <= 9; ++b) s.push_back(b * (bs == 1 ? 32 : bs));
  s.push_back(bs == 1 ? 4096 : 16 * bs * (bs == 256 ? 1 : 8));
  if (bs == 1)
    for (int64_t n : {1, 3, 7, 8, 9, 15, 17, 31, 33, 63, 65, 100, 1001}) s.push_back(n);
  return s;
}

// sum |w_i * x_i|: the scale the rounding error of a dot product is relative to.
double magnitude(TensorType type, const std::vector<uint8_t>& row, const std::vector<float>& x) {
  std::vector<float> w(x.size());
  dequantize_row(type, row.data(), w.data(), static_cast<int64_t>(x.size()));
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m += std::fabs(static_cast<double>(w[i]) * x[i]);
  return m;
}

std::vector<uint8_t> quantized_act(TensorType type, const std::vector<float>& x) {
  const kernels::ActFormat fmt = kernels::act_format(type);
  std::vector<uint8_t> a(kernels::act_row_bytes(fmt, static_cast<int64_t>(x.size())));
  kernels::quantize_act(fmt, x.data(), a.data(), static_cast<int64_t>(x.size()));
  return a;
}

TEST(Kernels, ScalarSetExistsForEverySupportedType) {
  for (TensorType t : kTypes) {
    EXPECT_TRUE(kernels::has_kernels(t)) << type_name(t);
    EXPECT_EQ(quant_supported(t), kernels::has_kernels(t));
  }
  EXPECT_STREQ(kernels::available().front()->name, "scalar");
  EXPECT_NE(kernels::active().name, nullptr);
}

// Which sets this machine tests, and how: the avx512 code natively where the CPU has AVX-512
// (F/BW/VL/VNNI), through SIMDe as avx512-emulated on other x86 CPUs with AVX2. The emulated set
// is never the one active() picks by itself.
TEST(Kernels, ReportsTheSetsUnderTest) {
  std::string names;
  for (const kernels::KernelSet* set : kernels::available())
    names += std::string(" ") + set->name + (set->emulated ? " (emulated)" : " (native)");
  std::printf("kernel sets under test:%s; active: %s\n", names.c_str(), kernels::active().name);
  const char* forced = std::getenv("CITADEL_ISA");
  if (!forced || std::string(forced) != kernels::active().name) EXPECT_FALSE(kernels::active().emulated);
  if (kernels::avx512_set()) EXPECT_STREQ(kernels::active().name, forced ? forced : "avx512");
  if (kernels::avx2_set() && !kernels::avx512_set()) {
    if (!kernels::avx512_emulated_set()) GTEST_SKIP() << "the avx512 code is not tested here: built without libsimde-dev";
    EXPECT_STREQ(kernels::available().back()->name, "avx512-emulated");
  }
}

TEST(Kernels, EverySetMatchesScalar) {
  std::mt19937 rng(7);
  const kernels::KernelSet& ref = kernels::scalar_set();
  for (const kernels::KernelSet* set : kernels::available()) {
    for (TensorType type : kTypes) {
      for (int64_t n : sizes(type)) {
        for (int trial = 0; trial < 3; ++trial) {
          const auto row = random_row(type, n, rng);
          const auto x = random_floats(n, rng, trial == 2 ? 1e-3f : 1.0f);
          const auto a = quantized_act(type, x);
          const float want = ref.dot(type)(row.data(), a.data(), n);
          const float got = set->dot(type)(row.data(), a.data(), n);
          const double mag = magnitude(type, row, x);
          ASSERT_TRUE(std::isfinite(got)) << set->name << " " << type_name(type) << " n=" << n;
          EXPECT_NEAR(got, want, 2e-6 * mag + 1e-30) << set->name << " " << type_name(type) << " n=" << n;
        }
      }
    }
  }
}

TEST(Kernels, PrefillTilesMatchScalarDot) {
  std::mt19937 rng(13);
  for (const kernels::KernelSet* set : kernels::available()) {
    for (TensorType type : {TensorType::Q8_0, TensorType::Q4_0, TensorType::Q4_K, TensorType::Q6_K, TensorType::F16,
                            TensorType::BF16}) {
      const kernels::TileFn tile = set->tile(type);
      if (!tile) continue;
      const kernels::ActFormat fmt = kernels::act_format(type);
      const bool k_format = fmt == kernels::ActFormat::Q8_K;
      const bool float_type = fmt == kernels::ActFormat::F32;
      const bool rounds = type == TensorType::BF16 && set->bf16_tile_rounds_activations;
      for (int64_t n : k_format     ? std::vector<int64_t>{256, 768}
                       : float_type ? std::vector<int64_t>{32, 37, 96, 512, 1000}  // odd, and past a 256-value stage
                                    : std::vector<int64_t>{32, 96, 512}) {
        for (int nr : {1, 2, 3, 4, 5, 9, 20, 64}) {  // rows one by one, by 4 and 8, up to a float tile's 64
          for (int n_groups : {1, 2, 3, 7, 8}) {  // single and paired groups, up to 8 per call
            const size_t rb = row_bytes(type, n);
            std::vector<uint8_t> w;
            for (int r = 0; r < nr; ++r) {
              const auto row = random_row(type, n, rng);
              w.insert(w.end(), row.begin(), row.end());
            }
            const int nt = 8 * n_groups;
            const auto x = random_floats(nt * n, rng);
            const size_t xs = kernels::act_row_bytes(fmt, n);
            std::vector<uint8_t> xq(nt * xs);
            for (int t = 0; t < nt; ++t) kernels::quantize_act(fmt, x.data() + t * n, xq.data() + t * xs, n);
            const size_t gb = kernels::act_group_bytes(fmt, n);
            std::vector<uint8_t> packed(n_groups * gb);
            for (int g = 0; g < n_groups; ++g) kernels::pack_act_x8(fmt, xq.data() + 8 * g * xs, xs, n, packed.data() + g * gb);
            const int64_t y_stride = nr + 3;  // rows of y wider than the tile
            std::vector<float> y(nt * y_stride, NAN);
            std::vector<uint8_t> scratch(kernels::tile_scratch_bytes(n));
            tile(w.data(), rb, nr, packed.data(), n_groups, n, y.data(), y_stride, scratch.data());
            // A set that rounds BF16 activations is held to the sums of exactly those activations.
            std::vector<uint8_t> xr = xq;
            if (rounds)
              for (size_t i = 0; i < xr.size() / 4; ++i) {
                float f;
                std::memcpy(&f, xr.data() + 4 * i, 4);
                f = bf16_to_fp32(fp32_to_bf16(f));
                std::memcpy(xr.data() + 4 * i, &f, 4);
              }
            for (int t = 0; t < nt; ++t)
              for (int r = 0; r < nr; ++r) {
                const float want = kernels::scalar_set().dot(type)(w.data() + r * rb, xr.data() + t * xs, n);
                const std::vector<uint8_t> row(w.begin() + r * rb, w.begin() + (r + 1) * rb);
                const std::vector<float> xt(x.begin() + t * n, x.begin() + (t + 1) * n);
                ASSERT_NEAR(y[t * y_stride + r], want, 2e-6 * magnitude(type, row, xt) + 1e-30)
                    << set->name << " " << type_name(type) << " n=" << n << " nr=" << nr << " groups=" << n_groups;
              }
            for (int t = 0; t < nt; ++t)
              for (int64_t r = nr; r < y_stride; ++r) ASSERT_TRUE(std::isnan(y[t * y_stride + r])) << "wrote outside the tile";
          }
        }
      }
    }
  }
}

TEST(Kernels, ScalarSetIsCloseToTheFloatReference) {
  // Only the 8-bit activations separate them: their error is below 1/127 of each block's max.
  std::mt19937 rng(11);
  for (TensorType type : kTypes) {
    const int64_t n = type_traits(type).block_size == 1 ? 1000 : 1024;
    const auto row = random_row(type, n, rng);
    const auto x = random_floats(n, rng);
    const float want = dot_row(type, row.data(), x.data(), n);
    const float got = kernels::scalar_set().dot(type)(row.data(), quantized_act(type, x).data(), n);
    const double mag = magnitude(type, row, x);
    const double tol = kernels::act_format(type) == kernels::ActFormat::F32 ? 1e-6 : 1.5e-2;
    EXPECT_NEAR(got, want, tol * mag) << type_name(type);
  }
}

TEST(Kernels, ActivationQuantizationRoundTrips) {
  std::mt19937 rng(3);
  const auto x = random_floats(512, rng);
  std::vector<kernels::ActQ8_0> a(16);
  kernels::quantize_act(kernels::ActFormat::Q8_0, x.data(), a.data(), 512);
  for (int b = 0; b < 16; ++b) {
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      EXPECT_NEAR(a[b].d * a[b].qs[j], x[32 * b + j], a[b].d * 0.5001f);
      sum += a[b].qs[j];
    }
    EXPECT_FLOAT_EQ(a[b].s, a[b].d * sum);
  }
  std::vector<kernels::ActQ8_K> k(2);
  kernels::quantize_act(kernels::ActFormat::Q8_K, x.data(), k.data(), 512);
  for (int b = 0; b < 2; ++b)
    for (int j = 0; j < 16; ++j) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) {
        EXPECT_NEAR(k[b].d * k[b].qs[16 * j + l], x[256 * b + 16 * j + l], k[b].d * 0.5001f);
        sum += k[b].qs[16 * j + l];
      }
      EXPECT_EQ(k[b].bsums[j], sum);
    }
  // All zeros: d = 0 and no NaN.
  std::vector<float> zeros(256, 0.0f);
  kernels::quantize_act(kernels::ActFormat::Q8_K, zeros.data(), k.data(), 256);
  EXPECT_EQ(k[0].d, 0.0f);
}

// Every type, every batch size 1..64 (prefill tiles and their tails), 1 and 3 threads: the
// product is finite and matches the reference dot per element. A kernel that breaks from some
// batch size on (as a known AMX path that gives NaN from 16 tokens) fails here.
TEST(Matmul, EveryTypeAndBatchSizeMatchesReference) {
  std::mt19937 rng(5);
  for (TensorType type : kTypes) {
    const int64_t k = type_traits(type).block_size == 256 ? 512 : 96, m = 37;
    std::vector<uint8_t> wbytes;
    for (int64_t r = 0; r < m; ++r) {
      const auto row = random_row(type, k, rng);
      wbytes.insert(wbytes.end(), row.begin(), row.end());
    }
    Tensor w;
    w.name = "w";
    w.type = type;
    w.ne[0] = k;
    w.ne[1] = m;
    w.data = wbytes.data();
    const auto x = random_floats(141 * k, rng);
    std::vector<int64_t> batches;  // one by one to 20, then sparser, then more groups than one
    for (int64_t nt = 1; nt <= 64; nt += (nt < 20 ? 1 : 7)) batches.push_back(nt);  // tile call takes
    for (int64_t nt : {72, 137, 141}) batches.push_back(nt);  // spans of 8 groups; 141: a padded last one
    for (int threads : {1, 3}) {
      ThreadPool pool(threads);
      for (int64_t nt : batches) {
        std::vector<float> y(nt * m, NAN);
        matmul(w, x.data(), nt, y.data(), pool);
        for (int64_t t = 0; t < nt; ++t)
          for (int64_t r = 0; r < m; ++r) {
            const float got = y[t * m + r];
            ASSERT_TRUE(std::isfinite(got)) << type_name(type) << " tokens " << nt << " t " << t << " r " << r;
            const std::vector<uint8_t> row(w.row(r), w.row(r) + w.row_size());
            const std::vector<float> xt(x.begin() + t * k, x.begin() + (t + 1) * k);
            const float want = dot_row(type, row.data(), xt.data(), k);
            ASSERT_NEAR(got, want, 1.5e-2 * magnitude(type, row, xt) + 1e-6)
                << type_name(type) << " tokens " << nt << " t " << t << " r " << r;
          }
      }
    }
  }
}

TEST(Matmul, SameResultForAnyThreadCountAndBatching) {
  // Rows are independent and every path computes the same integer sums: only the order of the
  // float additions may differ (prefill tiles).
  std::mt19937 rng(9);
  const int64_t k = 256, m = 50;
  for (TensorType type : {TensorType::Q4_0, TensorType::Q8_0, TensorType::Q4_K, TensorType::F16}) {
    std::vector<uint8_t> wbytes;
    for (int64_t r = 0; r < m; ++r) {
      const auto row = random_row(type, k, rng);
      wbytes.insert(wbytes.end(), row.begin(), row.end());
    }
    Tensor w;
    w.type = type;
    w.ne[0] = k;
    w.ne[1] = m;
    w.data = wbytes.data();
    const auto x = random_floats(8 * k, rng);
    ThreadPool one(1), four(4);
    std::vector<float> batched(8 * m), single(8 * m);
    matmul(w, x.data(), 8, batched.data(), four);
    for (int t = 0; t < 8; ++t) matmul(w, x.data() + t * k, 1, single.data() + t * m, one);
    for (int t = 0; t < 8; ++t)
      for (int64_t r = 0; r < m; ++r) {
        const std::vector<uint8_t> row(w.row(r), w.row(r) + w.row_size());
        const std::vector<float> xt(x.begin() + t * k, x.begin() + (t + 1) * k);
        EXPECT_NEAR(batched[t * m + r], single[t * m + r], 2e-6 * magnitude(type, row, xt))
            << type_name(type) << " token " << t << " row " << r;
      }
  }
}

// The attention helpers of every set against the scalar ones: odd row counts, head sizes with
// and without a SIMD tail, rows apart by a stride wider than the head.
TEST(Kernels, AttentionHelpersMatchScalar) {
  ASSERT_NE(kernels::active().dot_rows, nullptr);
  ASSERT_NE(kernels::active().exp_sum, nullptr);
  std::mt19937 rng(17);
  const kernels::KernelSet& scalar = kernels::scalar_set();
  for (const kernels::KernelSet* set : kernels::available()) {
    if (!set->dot_rows) continue;  // active() gives such a set the scalar helpers
    for (int64_t n : {8, 13, 64, 128}) {
      for (int n_rows : {1, 3, 4, 7, 16}) {
        const int64_t stride = n + 5;
        const auto rows = random_floats(n_rows * stride, rng);
        const auto x = random_floats(n, rng);
        std::vector<float> got(n_rows), want(n_rows);
        set->dot_rows(rows.data(), stride, n_rows, x.data(), n, got.data());
        scalar.dot_rows(rows.data(), stride, n_rows, x.data(), n, want.data());
        for (int i = 0; i < n_rows; ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * n) << set->name << " dot_rows n=" << n;
        auto y_got = random_floats(n, rng);
        auto y_want = y_got;
        const auto a = random_floats(n_rows, rng);
        set->axpy_rows(rows.data(), stride, n_rows, a.data(), n, y_got.data());
        scalar.axpy_rows(rows.data(), stride, n_rows, a.data(), n, y_want.data());
        for (int64_t j = 0; j < n; ++j) EXPECT_NEAR(y_got[j], y_want[j], 1e-5 * n_rows) << set->name << " axpy_rows n=" << n;
      }
    }
    for (int64_t n : {1, 7, 8, 9, 100}) {
      std::vector<float> x(n);
      for (int64_t i = 0; i < n; ++i) x[i] = -90.0f + 90.0f * static_cast<float>(i) / static_cast<float>(n);
      x[0] = 0.5f;  // the max
      auto got = x, want = x;
      const float sum_got = set->exp_sum(got.data(), n, 0.5f), sum_want = scalar.exp_sum(want.data(), n, 0.5f);
      EXPECT_NEAR(sum_got, sum_want, 1e-6f * sum_want) << set->name << " n=" << n;
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(got[i], want[i], 1e-6f * want[i] + 1e-30f) << set->name << " exp at " << x[i];
    }
  }
}


// The f32 -> f16 conversion of every set (it fills an f16 KV cache) against the scalar one, bit
// for bit (ties to even, subnormals, overflow to inf, NaN made the canonical quiet NaN).
TEST(Kernels, F16ConversionMatchesScalar) {
  std::mt19937 rng(37);
  const kernels::KernelSet& scalar = kernels::scalar_set();
  for (const kernels::KernelSet* set : kernels::available()) {
    if (!set->to_f16) continue;
    std::vector<float> x = random_floats(203, rng, 3.0f);
    const float specials[] = {0.0f, -0.0f, 1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65504.0f, 65520.0f, 1e9f, -1e9f,
                              6e-8f, 3e-5f, -2.9802322e-08f, NAN, -NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < std::size(specials); ++i) x[3 * i + 1] = specials[i];
    std::vector<uint16_t> got(x.size()), want(x.size());
    set->to_f16(x.data(), got.data(), static_cast<int64_t>(x.size()));
    scalar.to_f16(x.data(), want.data(), static_cast<int64_t>(x.size()));
    EXPECT_EQ(got, want) << set->name;
  }
}

TEST(Kernels, SiluMulMatchesScalar) {
  std::mt19937 rng(31);
  ASSERT_NE(kernels::active().silu_mul, nullptr);
  for (const kernels::KernelSet* set : kernels::available()) {
    if (!set->silu_mul) continue;
    for (int64_t n : {1, 7, 8, 9, 100}) {
      auto gate = random_floats(n, rng, 4.0f);
      gate[0] = -100.0f;  // exp(100) is clamped: still ~0
      if (n > 1) gate[1] = 100.0f;
      const auto up = random_floats(n, rng);
      auto got = gate, want = gate;
      set->silu_mul(got.data(), up.data(), n);
      kernels::scalar_set().silu_mul(want.data(), up.data(), n);
      for (int64_t i = 0; i < n; ++i)
        EXPECT_NEAR(got[i], want[i], 1e-6f * std::fabs(want[i]) + 1e-30f) << set->name << " silu at " << gate[i];
    }
  }
}

// Several matrices of mixed types over one input (Q/K/V, gate/up) give exactly what each alone
// gives: the same quantized activations and kernels, only shared.
TEST(Matmul, SeveralMatricesOverOneInputEqualEachAlone) {
  std::mt19937 rng(29);
  const int64_t k = 512;
  const TensorType types[] = {TensorType::Q4_K, TensorType::Q6_K, TensorType::F16, TensorType::Q8_0};
  const int64_t rows[] = {40, 17, 33, 64};
  std::vector<std::vector<uint8_t>> bytes(4);
  std::vector<Tensor> ws(4);
  for (int i = 0; i < 4; ++i) {
    for (int64_t r = 0; r < rows[i]; ++r) {
      const auto row = random_row(types[i], k, rng);
      bytes[i].insert(bytes[i].end(), row.begin(), row.end());
    }
    ws[i].name = "w" + std::to_string(i);
    ws[i].type = types[i];
    ws[i].ne[0] = k;
    ws[i].ne[1] = rows[i];
    ws[i].data = bytes[i].data();
  }
  ThreadPool pool(3);
  for (int64_t nt : {1, 2, 5, 8, 13, 16, 19, 85}) {  // 85: two spans of groups, a padded group
    const auto x = random_floats(nt * k, rng);
    std::vector<std::vector<float>> together(4), alone(4);
    std::vector<MatmulOut> outs;
    for (int i = 0; i < 4; ++i) {
      together[i].assign(nt * rows[i], NAN);
      alone[i].assign(nt * rows[i], NAN);
      outs.push_back({&ws[i], together[i].data()});
      matmul(ws[i], x.data(), nt, alone[i].data(), pool);
    }
    matmul(outs.data(), 4, x.data(), nt, pool);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(together[i], alone[i]) << type_name(types[i]) << " tokens " << nt;
  }
}

// SIMD activation quantization gives the portable bytes exactly: every kernel sees the same
// integers whichever set quantized them.
TEST(Kernels, ActivationQuantizationIsTheSameOnEverySet) {
  std::mt19937 rng(23);
  for (const kernels::KernelSet* set : kernels::available()) {
    if (!set->quantize_act) continue;
    for (kernels::ActFormat fmt : {kernels::ActFormat::Q8_0, kernels::ActFormat::Q8_K}) {
      const int64_t n = 1024;
      auto x = random_floats(n, rng, 3.0f);
      for (int64_t i = 0; i < 32; ++i) x[i] = 0.0f;       // an all-zero block (d = 0)
      for (int64_t i = 300; i < n; i += 97) x[i] *= 1e4f;  // outliers
      std::vector<uint8_t> got(kernels::act_row_bytes(fmt, n)), want(got.size());
      set->quantize_act(fmt, x.data(), got.data(), n);
      kernels::quantize_act(fmt, x.data(), want.data(), n);
      EXPECT_EQ(got, want) << set->name << " format " << static_cast<int>(fmt);
    }
  }
}

}  // namespace
}  // namespace citadel
