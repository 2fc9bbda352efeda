// Reference quantization: fp16/bf16 conversions, block layouts, error bounds, dot products,
// argument checks. Agreement with ggml's own bytes is in quant_golden_test.cpp.
#include "core/quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "core/quant_blocks.h"

namespace citadel {
namespace {

const TensorType kAllTypes[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q8_0,
                                TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1,
                                TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K};

uint32_t bits(float f) { return std::bit_cast<uint32_t>(f); }
float from_bits(uint32_t u) { return std::bit_cast<float>(u); }

// ---------------------------------------------------------------- fp16

// The value of half `h` computed from its definition.
double half_value(uint16_t h) {
  const int exp = (h >> 10) & 31, mant = h & 1023;
  const double mag = exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
  return (h & 0x8000) ? -mag : mag;
}

TEST(Fp16, EveryHalfDecodesExactlyAndRoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    const bool nan = ((h >> 10) & 31) == 31 && (h & 1023) != 0;
    if (nan) {
      EXPECT_TRUE(std::isnan(f)) << h;
      EXPECT_TRUE(bits(f) & 0x00400000u) << "NaN must be quiet: " << h;
      EXPECT_EQ(std::signbit(f), (h & 0x8000) != 0);
      EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(f))));
      continue;
    }
    if (((h >> 10) & 31) == 31) EXPECT_TRUE(std::isinf(f)) << h;
    else EXPECT_EQ(static_cast<double>(f), half_value(static_cast<uint16_t>(h))) << h;
    EXPECT_EQ(std::signbit(f), (h & 0x8000) != 0) << h;  // -0 stays -0
    EXPECT_EQ(fp32_to_fp16(f), h);
  }
}

TEST(Fp16, EdgeCasesRoundToNearestEven) {
  EXPECT_EQ(fp32_to_fp16(0.0f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);                    // largest half
  EXPECT_EQ(fp32_to_fp16(std::nextafter(65520.0f, 0.0f)), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);                    // tie, to even: inf
  EXPECT_EQ(fp32_to_fp16(-1e30f), 0xfc00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::quiet_NaN()), 0x7e00);
  EXPECT_EQ(fp32_to_fp16(from_bits(0xff800001u)), 0xfe00);      // signalling NaN: quiet, sign kept
  EXPECT_EQ(fp32_to_fp16(1.0f + 0x1p-11f), 0x3c00);             // tie between 0x3c00 and 0x3c01
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);         // tie between 0x3c01 and 0x3c02
  EXPECT_EQ(fp32_to_fp16(std::nextafter(1.0f + 0x1p-11f, 2.0f)), 0x3c01);
  EXPECT_EQ(fp32_to_fp16(0x1p-14f), 0x0400);                    // smallest normal
  EXPECT_EQ(fp32_to_fp16(std::nextafter(0x1p-14f, 0.0f)), 0x0400);  // rounds up into the normals
  EXPECT_EQ(fp32_to_fp16(0x1p-24f), 0x0001);                    // smallest subnormal
  EXPECT_EQ(fp32_to_fp16(0x1p-25f), 0x0000);                    // tie, to even: zero
  EXPECT_EQ(fp32_to_fp16(1.5f * 0x1p-25f), 0x0001);
  EXPECT_EQ(fp32_to_fp16(3 * 0x1p-25f), 0x0002);                // tie between 1 and 2
  EXPECT_EQ(fp32_to_fp16(-5 * 0x1p-25f), 0x8002);               // tie between 2 and 3
  EXPECT_EQ(fp32_to_fp16(1e-40f), 0x0000);                      // float subnormal
  EXPECT_EQ(fp16_to_fp32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16_to_fp32(0x0001), 0x1p-24f);
  EXPECT_EQ(fp16_to_fp32(0x03ff), 1023 * 0x1p-24f);
}

#if defined(__FLT16_MAX__)
// The compiler's own conversion (IEEE, round to nearest even) as an independent reference.
uint16_t compiler_half(float f) { return std::bit_cast<uint16_t>(static_cast<_Float16>(f)); }

TEST(Fp16, EncodeAgreesWithCompilerOnMidpointsAndSamples) {
  std::vector<float> probes;
  for (uint32_t h = 0; h < 0x7c00; ++h) {  // every finite half, its neighbours and the midpoints
    const float a = fp16_to_fp32(static_cast<uint16_t>(h)), b = fp16_to_fp32(static_cast<uint16_t>(h + 1));
    const float mid = static_cast<float>((static_cast<double>(a) + b) / 2);
    for (float f : {a, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f)}) {
      probes.push_back(f);
      probes.push_back(-f);
    }
  }
  for (uint64_t u = 0; u < (1ull << 32); u += 65519) probes.push_back(from_bits(static_cast<uint32_t>(u)));
  for (float f : probes) {
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(f))));
      continue;
    }
    ASSERT_EQ(fp32_to_fp16(f), compiler_half(f)) << std::hexfloat << f;
  }
}
#endif

// ---------------------------------------------------------------- bf16

TEST(Bf16, RoundsToNearestEvenAndKeepsSpecials) {
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f808000u)), 0x3f80);  // tie, to even (down)
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f818000u)), 0x3f82);  // tie, to even (up)
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f808001u)), 0x3f81);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f807fffu)), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x7f7fffffu)), 0x7f80);  // largest float rounds to inf
  EXPECT_EQ(fp32_to_bf16(from_bits(0x7f800001u)), 0x7fc0);  // signalling NaN becomes quiet
  EXPECT_EQ(fp32_to_bf16(from_bits(0xffc00000u)), 0xffc0);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x00010000u)), 0x0001);  // subnormals are kept
  EXPECT_EQ(fp32_to_bf16(from_bits(0x00018000u)), 0x0002);
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = bf16_to_fp32(static_cast<uint16_t>(h));
    EXPECT_EQ(bits(f), h << 16);
    if (!std::isnan(f)) {
      EXPECT_EQ(fp32_to_bf16(f), h);
    }
  }
}

TEST(Bf16, EncodeIsTheNearestNeighbour) {
  std::mt19937 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const float f = from_bits(rng());
    if (!std::isfinite(f) || std::fabs(f) > 3e38f) continue;
    const double x = f, got = bf16_to_fp32(fp32_to_bf16(f));
    const double down = bf16_to_fp32(static_cast<uint16_t>(bits(f) >> 16));
    const double up = bf16_to_fp32(static_cast<uint16_t>((bits(f) >> 16) + 1));
    const double best = std::fabs(x - down) <= std::fabs(x - up) ? down : up;
    if (std::fabs(x - down) != std::fabs(x - up)) {
      ASSERT_EQ(got, best) << std::hexfloat << f;
    }
  }
}

// ---------------------------------------------------------------- block layouts

TEST(QuantLayout, Q4_0LowNibblesAreTheFirstHalf) {
  BlockQ4_0 b{};
  b.d = fp32_to_fp16(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  dequantize_row(TensorType::Q4_0, &b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * (j - 8));
    EXPECT_EQ(y[j + 16], 0.5f * (15 - j - 8));
  }
}

TEST(QuantLayout, Q5_0HighBitsComeFromQh) {
  BlockQ5_0 b{};
  b.d = fp32_to_fp16(1.0f);
  const uint32_t qh = 0x80000001u;  // fifth bit of values 0 and 31
  std::memcpy(b.qh, &qh, 4);
  float y[32];
  dequantize_row(TensorType::Q5_0, &b, y, 32);
  EXPECT_EQ(y[0], 0.0f);   // 16 - 16
  EXPECT_EQ(y[1], -16.0f);
  EXPECT_EQ(y[31], 0.0f);
  EXPECT_EQ(y[30], -16.0f);
}

TEST(QuantLayout, Q4_KSixBitScalesAndMins) {
  const uint8_t sc[8] = {1, 17, 33, 49, 63, 50, 20, 35};
  const uint8_t mn[8] = {2, 30, 5, 63, 40, 18, 9, 61};
  BlockQ4_K b{};
  b.d = fp32_to_fp16(1.0f);
  b.dmin = fp32_to_fp16(0.5f);
  for (int j = 0; j < 4; ++j) {  // sub-blocks 0-3: low 6 bits of bytes j and j+4
    b.scales[j] = sc[j] | static_cast<uint8_t>((sc[j + 4] >> 4) << 6);
    b.scales[j + 4] = mn[j] | static_cast<uint8_t>((mn[j + 4] >> 4) << 6);
    b.scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
  }
  // Values 64c..64c+31 are the low nibbles of qs[32c..], the next 32 the high nibbles.
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) b.qs[32 * c + l] = static_cast<uint8_t>(1 | (2 << 4));
  float y[256];
  dequantize_row(TensorType::Q4_K, &b, y, 256);
  for (int j = 0; j < 8; ++j) {
    const float q = j % 2 == 0 ? 1.0f : 2.0f;
    EXPECT_EQ(y[32 * j + 5], sc[j] * q - 0.5f * mn[j]) << "sub-block " << j;
  }
}

// ---------------------------------------------------------------- random data

enum class Dist { Normal, Tiny, Positive, Outliers, Sparse, HugeRange, Negative, ConstantBlocks, Weights };
const Dist kDists[] = {Dist::Normal,   Dist::Tiny,     Dist::Positive,       Dist::Outliers, Dist::Sparse,
                       Dist::HugeRange, Dist::Negative, Dist::ConstantBlocks, Dist::Weights};

std::vector<float> make_row(Dist dist, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> unif(0.0f, 1.0f);
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) {
    switch (dist) {
      case Dist::Normal: x[i] = normal(rng); break;
      case Dist::Tiny: x[i] = (unif(rng) * 2 - 1) * 1e-3f; break;
      case Dist::Positive: x[i] = unif(rng) * 2; break;
      case Dist::Outliers: x[i] = normal(rng) * (unif(rng) < 0.05f ? 50.0f : 1.0f); break;
      case Dist::Sparse: x[i] = (i < 256 || unif(rng) < 0.7f) ? 0.0f : normal(rng); break;
      case Dist::HugeRange: x[i] = normal(rng) * std::pow(10.0f, unif(rng) * 8 - 4); break;
      case Dist::Negative: x[i] = -(0.5f + unif(rng)); break;
      case Dist::ConstantBlocks: x[i] = (i % 32 == 0) ? normal(rng) : x[i - 1]; break;
      case Dist::Weights: x[i] = normal(rng) * 0.02f; break;
    }
  }
  return x;
}

std::vector<float> round_trip(TensorType type, const std::vector<float>& x) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(row_bytes(type, n));
  quantize_row(type, x.data(), q.data(), n);
  std::vector<float> y(x.size());
  dequantize_row(type, q.data(), y.data(), n);
  return y;
}

// Largest error the legacy formats allow on one 32-value block: half a step (a full step at
// Q4_0/Q5_0's clipped end), plus the fp16 rounding of the scale and min (2^-11 relative).
double legacy_bound(TensorType type, const float* x) {
  float lo = x[0], hi = x[0], amax = 0;
  for (int i = 0; i < 32; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    amax = std::max(amax, std::fabs(x[i]));
  }
  const double fp16_slack = 0x1p-10 * (amax + (hi - lo)) + 1e-6;
  switch (type) {
    case TensorType::Q8_0: return amax / 127.0 * 0.5 + fp16_slack;
    case TensorType::Q4_0: return amax / 8.0 + fp16_slack;
    case TensorType::Q5_0: return amax / 16.0 + fp16_slack;
    case TensorType::Q4_1: return (hi - lo) / 15.0 * 0.5 + fp16_slack;
    case TensorType::Q5_1: return (hi - lo) / 31.0 * 0.5 + fp16_slack;
    default: return 0;
  }
}

TEST(QuantRoundTrip, FloatTypes) {
  for (Dist dist : kDists) {
    const std::vector<float> x = make_row(dist, 1024, 11);
    EXPECT_EQ(round_trip(TensorType::F32, x), x);
    const std::vector<float> h = round_trip(TensorType::F16, x), b = round_trip(TensorType::BF16, x);
    for (size_t i = 0; i < x.size(); ++i) {
      // Relative 2^-11 (fp16) and 2^-8 (bf16), or fp16's subnormal spacing.
      EXPECT_LE(std::fabs(h[i] - x[i]), std::fabs(x[i]) * 0x1p-11f + 0x1p-25f) << i;
      EXPECT_LE(std::fabs(b[i] - x[i]), std::fabs(x[i]) * 0x1p-8f) << i;
    }
  }
}

TEST(QuantRoundTrip, LegacyTypesStayWithinHalfAStep) {
  for (TensorType type : {TensorType::Q8_0, TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1})
    for (Dist dist : kDists) {
      const std::vector<float> x = make_row(dist, 1024, 12);
      const std::vector<float> y = round_trip(type, x);
      for (size_t b = 0; b < x.size() / 32; ++b) {
        const double bound = legacy_bound(type, &x[32 * b]);
        for (size_t i = 32 * b; i < 32 * b + 32; ++i)
          ASSERT_LE(std::fabs(static_cast<double>(y[i]) - x[i]), bound)
              << type_name(type) << " dist " << static_cast<int>(dist) << " value " << i;
      }
    }
}

// K types: the 6/8-bit sub-block scales make a closed-form bound loose, so this checks the
// relative RMS error (ggml's algorithm measures at most 0.11 / 0.064 / 0.038 here) and that no
// value is off by more than 1.5 steps of its super-block's range, plus the absolute error of an
// fp16 super-scale that underflowed to a subnormal (2^-25 times the largest scale * level, 4096).
TEST(QuantRoundTrip, KTypesErrorIsSmall) {
  struct Limit { TensorType type; double rel_rms; double steps; int levels; };
  for (Limit lim : {Limit{TensorType::Q4_K, 0.15, 1.5, 15}, Limit{TensorType::Q5_K, 0.08, 1.5, 31},
                    Limit{TensorType::Q6_K, 0.05, 1.5, 63}})
    for (Dist dist : kDists) {
      const std::vector<float> x = make_row(dist, 1024, 13);
      const std::vector<float> y = round_trip(lim.type, x);
      for (size_t sb = 0; sb < x.size() / 256; ++sb) {
        double err2 = 0, x2 = 0, amax = 0, max_err = 0;
        for (size_t i = 256 * sb; i < 256 * sb + 256; ++i) {
          const double e = static_cast<double>(y[i]) - x[i];
          ASSERT_TRUE(std::isfinite(y[i]));
          err2 += e * e;
          x2 += static_cast<double>(x[i]) * x[i];
          amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
          max_err = std::max(max_err, std::fabs(e));
        }
        const char* name = type_traits(lim.type).name;
        EXPECT_LE(std::sqrt(err2), lim.rel_rms * std::sqrt(x2) + 1e-12)
            << name << " dist " << static_cast<int>(dist) << " super-block " << sb;
        EXPECT_LE(max_err, lim.steps * 2 * amax / lim.levels + 0x1p-13)
            << name << " dist " << static_cast<int>(dist) << " super-block " << sb;
      }
    }
}

TEST(QuantRoundTrip, ZerosStayZero) {
  const std::vector<float> zeros(512, 0.0f);
  for (TensorType type : kAllTypes) {
    const std::vector<float> y = round_trip(type, zeros);
    for (float v : y) ASSERT_EQ(v, 0.0f) << type_name(type);
  }
}

TEST(QuantDot, EqualsDotOfDequantizedRow) {
  for (TensorType type : kAllTypes)
    for (Dist dist : {Dist::Normal, Dist::Outliers, Dist::Positive, Dist::HugeRange}) {
      const int64_t n = 768;
      const std::vector<float> w = make_row(dist, n, 21), x = make_row(Dist::Normal, n, 22);
      std::vector<uint8_t> q(row_bytes(type, n));
      quantize_row(type, w.data(), q.data(), n);
      std::vector<float> d(n);
      dequantize_row(type, q.data(), d.data(), n);
      double ref = 0, mag = 0;
      for (int64_t i = 0; i < n; ++i) {
        ref += static_cast<double>(d[i]) * x[i];
        mag += std::fabs(static_cast<double>(d[i]) * x[i]);
      }
      EXPECT_NEAR(dot_row(type, q.data(), x.data(), n), ref, 1e-6 * mag + 1e-30)
          << type_name(type) << " dist " << static_cast<int>(dist);
    }
}

// ---------------------------------------------------------------- argument checks

TEST(QuantArgs, LengthMustBeAWholeNumberOfBlocks) {
  std::vector<float> f(512, 1.0f);
  std::vector<uint8_t> q(4096);
  EXPECT_THROW(quantize_row(TensorType::Q4_0, f.data(), q.data(), 48), std::invalid_argument);
  EXPECT_THROW(dequantize_row(TensorType::Q8_0, q.data(), f.data(), 33), std::invalid_argument);
  EXPECT_THROW(dot_row(TensorType::Q4_K, q.data(), f.data(), 128), std::invalid_argument);
  EXPECT_THROW(dot_row(TensorType::Q6_K, q.data(), f.data(), -256), std::invalid_argument);
  EXPECT_NO_THROW(dot_row(TensorType::Q6_K, q.data(), f.data(), 0));
  EXPECT_NO_THROW(quantize_row(TensorType::F16, f.data(), q.data(), 3));
}

TEST(QuantArgs, UnsupportedTypesThrow) {
  std::vector<float> f(256, 1.0f);
  std::vector<uint8_t> q(4096);
  for (TensorType type : {TensorType::Q2_K, TensorType::Q3_K, TensorType::Q8_K, TensorType::Q8_1, TensorType::I8,
                          TensorType::I32, TensorType::F64}) {
    EXPECT_FALSE(quant_supported(type)) << type_name(type);
    EXPECT_THROW(quantize_row(type, f.data(), q.data(), 256), std::invalid_argument) << type_name(type);
    EXPECT_THROW(dequantize_row(type, q.data(), f.data(), 256), std::invalid_argument) << type_name(type);
    EXPECT_THROW(dot_row(type, q.data(), f.data(), 256), std::invalid_argument) << type_name(type);
  }
  EXPECT_THROW(dot_row(static_cast<TensorType>(99), q.data(), f.data(), 256), std::invalid_argument);
  for (TensorType type : kAllTypes) EXPECT_TRUE(quant_supported(type)) << type_name(type);
}

}  // namespace
}  // namespace citadel
