// ARM NEON kernels (aarch64). Baseline armv8-a Advanced SIMD, which every aarch64 CPU has, so
// the file needs no extra flags and no run-time check beyond cpu_features().neon. The integer
// sums are those of the scalar set: int8 x int8 products widened to int16 pairs (vmull_s8 /
// vmlal_high_s8: two products of at most 128 * 127 fit) and added pairwise into int32
// (vpadalq_s16). Where the compiler targets the dot-product extension (-march=armv8.2-a+dotprod,
// __ARM_FEATURE_DOTPROD) vdotq_s32 does the same sums in one instruction. Also the attention
// helpers (dot_rows, axpy_rows, exp_sum, attend_block). No prefill tiles or activation quantization yet: matmul
// loops over the dot kernels. Keeps to intrinsics and its own static helpers, like the other
// per-ISA files.
#include "core/kernels/kernels_isa.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

#include <cmath>
#include <cstring>

#include "core/quant_blocks.h"

namespace citadel::kernels {
namespace {

inline float half(uint16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }

inline float bf16(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// acc + four int32 sums of 4 products each of 16 signed bytes.
inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(__ARM_FEATURE_DOTPROD)
  return vdotq_s32(acc, a, b);
#else
  const int16x8_t p = vmlal_high_s8(vmull_s8(vget_low_s8(a), vget_low_s8(b)), a, b);
  return vpadalq_s16(acc, p);
#endif
}

// The 32 nibbles of a legacy block as bytes 0..15, in value order: values 0..15 are the low
// nibbles, 16..31 the high ones.
inline void nibbles32(const uint8_t* qs, int8x16_t* lo, int8x16_t* hi) {
  const uint8x16_t t = vld1q_u8(qs);
  *lo = vreinterpretq_s8_u8(vandq_u8(t, vdupq_n_u8(0x0F)));
  *hi = vreinterpretq_s8_u8(vshrq_n_u8(t, 4));
}

// Byte j = 0x10 where bit j of the 32 bits at qh is set, else 0 (values 0..15, 16..31).
inline void bit5_bytes(const uint8_t* qh, int8x16_t* lo, int8x16_t* hi) {
  uint32_t h;
  std::memcpy(&h, qh, 4);
  const uint8x16_t v = vreinterpretq_u8_u32(vdupq_n_u32(h));
  static const uint8_t kIdxLo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
  static const uint8_t kIdxHi[16] = {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
  static const uint8_t kBits[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t bits = vld1q_u8(kBits), x10 = vdupq_n_u8(0x10);
  *lo = vreinterpretq_s8_u8(vandq_u8(vtstq_u8(vqtbl1q_u8(v, vld1q_u8(kIdxLo)), bits), x10));
  *hi = vreinterpretq_s8_u8(vandq_u8(vtstq_u8(vqtbl1q_u8(v, vld1q_u8(kIdxHi)), bits), x10));
}

// --- float rows

template <class Load, class Scalar>
float dot_float_row(const float* b, int64_t n, Load load, Scalar scalar) {
  float32x4_t acc0 = vdupq_n_f32(0), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = vfmaq_f32(acc0, load(i), vld1q_f32(b + i));
    acc1 = vfmaq_f32(acc1, load(i + 4), vld1q_f32(b + i + 4));
    acc2 = vfmaq_f32(acc2, load(i + 8), vld1q_f32(b + i + 8));
    acc3 = vfmaq_f32(acc3, load(i + 12), vld1q_f32(b + i + 12));
  }
  for (; i + 4 <= n; i += 4) acc0 = vfmaq_f32(acc0, load(i), vld1q_f32(b + i));
  float sum = vaddvq_f32(vaddq_f32(vaddq_f32(acc0, acc1), vaddq_f32(acc2, acc3)));
  for (; i < n; ++i) sum += scalar(i) * b[i];
  return sum;
}

float dot_f32(const void* w, const void* x, int64_t n) {
  const auto* a = static_cast<const float*>(w);
  return dot_float_row(
      static_cast<const float*>(x), n, [a](int64_t i) { return vld1q_f32(a + i); }, [a](int64_t i) { return a[i]; });
}

float dot_f16(const void* w, const void* x, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(w);
  return dot_float_row(
      static_cast<const float*>(x), n, [h](int64_t i) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h + i))); },
      [h](int64_t i) { return half(h[i]); });
}

float dot_bf16(const void* w, const void* x, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(w);
  return dot_float_row(
      static_cast<const float*>(x), n, [h](int64_t i) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(h + i), 16)); },
      [h](int64_t i) { return bf16(h[i]); });
}

// --- legacy 32-value blocks. `ints(block, x0, x1)` gives the int32 partial sums of q * qx for
// one block (x0, x1: activation values 0..15, 16..31), `min(block)` the format's min (0 without
// one). Two accumulators hide the FMA latency.
template <class Block, class Ints, class Min>
float dot_legacy(const void* w, const void* x, int64_t n, Ints ints, Min min) {
  const auto* b = static_cast<const Block*>(w);
  const auto* a = static_cast<const ActQ8_0*>(x);
  const int64_t nb = n / 32;
  float32x4_t acc0 = vdupq_n_f32(0), acc1 = acc0;
  float mins = 0;
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    const int32x4_t s0 = ints(b[i], vld1q_s8(a[i].qs), vld1q_s8(a[i].qs + 16));
    const int32x4_t s1 = ints(b[i + 1], vld1q_s8(a[i + 1].qs), vld1q_s8(a[i + 1].qs + 16));
    acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(s0), half(b[i].d) * a[i].d);
    acc1 = vfmaq_n_f32(acc1, vcvtq_f32_s32(s1), half(b[i + 1].d) * a[i + 1].d);
    mins += min(b[i]) * a[i].s + min(b[i + 1]) * a[i + 1].s;
  }
  for (; i < nb; ++i) {
    const int32x4_t s = ints(b[i], vld1q_s8(a[i].qs), vld1q_s8(a[i].qs + 16));
    acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(s), half(b[i].d) * a[i].d);
    mins += min(b[i]) * a[i].s;
  }
  return vaddvq_f32(vaddq_f32(acc0, acc1)) + mins;
}

constexpr auto kNoMin = [](const auto&) { return 0.0f; };
constexpr auto kMin = [](const auto& blk) { return half(blk.m); };

inline int32x4_t dot32(int8x16_t w0, int8x16_t w1, int8x16_t x0, int8x16_t x1) {
  return dot16(dot16(vdupq_n_s32(0), w0, x0), w1, x1);
}

float dot_q8_0(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ8_0>(w, x, n, [](const BlockQ8_0& blk, int8x16_t x0, int8x16_t x1) {
    return dot32(vld1q_s8(blk.qs), vld1q_s8(blk.qs + 16), x0, x1);
  }, kNoMin);
}
// Q4_0 / Q5_0: the offset (8, 16) is taken off the bytes, so the integers are the scalar set's.
float dot_q4_0(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ4_0>(w, x, n, [](const BlockQ4_0& blk, int8x16_t x0, int8x16_t x1) {
    int8x16_t lo, hi;
    nibbles32(blk.qs, &lo, &hi);
    const int8x16_t eight = vdupq_n_s8(8);
    return dot32(vsubq_s8(lo, eight), vsubq_s8(hi, eight), x0, x1);
  }, kNoMin);
}
float dot_q4_1(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ4_1>(w, x, n, [](const BlockQ4_1& blk, int8x16_t x0, int8x16_t x1) {
    int8x16_t lo, hi;
    nibbles32(blk.qs, &lo, &hi);
    return dot32(lo, hi, x0, x1);
  }, kMin);
}
float dot_q5_0(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ5_0>(w, x, n, [](const BlockQ5_0& blk, int8x16_t x0, int8x16_t x1) {
    int8x16_t lo, hi, hlo, hhi;
    nibbles32(blk.qs, &lo, &hi);
    bit5_bytes(blk.qh, &hlo, &hhi);
    const int8x16_t sixteen = vdupq_n_s8(16);
    return dot32(vsubq_s8(vorrq_s8(lo, hlo), sixteen), vsubq_s8(vorrq_s8(hi, hhi), sixteen), x0, x1);
  }, kNoMin);
}
float dot_q5_1(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ5_1>(w, x, n, [](const BlockQ5_1& blk, int8x16_t x0, int8x16_t x1) {
    int8x16_t lo, hi, hlo, hhi;
    nibbles32(blk.qs, &lo, &hi);
    bit5_bytes(blk.qh, &hlo, &hhi);
    return dot32(vorrq_s8(lo, hlo), vorrq_s8(hi, hhi), x0, x1);
  }, kMin);
}

// --- K formats

// The 8 six-bit scales and mins of a Q4_K / Q5_K block.
inline void k4_scales(const uint8_t* s, uint8_t* sc, uint8_t* m) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    m[j] = s[j + 4] & 63;
    sc[j + 4] = (s[j + 8] & 0xF) | ((s[j] >> 6) << 4);
    m[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
  }
}

// Q4_K and Q5_K share the loop. Chunk c holds 64 values in 32 bytes: the low nibbles are
// sub-block 2c, the high nibbles sub-block 2c + 1; Q5_K's fifth bits are bits 2c and 2c + 1 of
// qh[0..31].
template <class Block, bool kFifthBit>
float dot_k4(const void* w, const void* x, int64_t n) {
  const auto* b = static_cast<const Block*>(w);
  const auto* a = static_cast<const ActQ8_K*>(x);
  const uint8x16_t low4 = vdupq_n_u8(0x0F), x10 = vdupq_n_u8(0x10);
  float sum = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    uint8_t sc[8], m[8];
    k4_scales(b[i].scales, sc, m);
    int msum = 0;
    for (int j = 0; j < 8; ++j) msum += m[j] * (a[i].bsums[2 * j] + a[i].bsums[2 * j + 1]);
    uint8x16_t qh0 = vdupq_n_u8(0), qh1 = qh0;
    if constexpr (kFifthBit) {
      qh0 = vld1q_u8(b[i].qh);
      qh1 = vld1q_u8(b[i].qh + 16);
    }
    int32x4_t sumi = vdupq_n_s32(0);
    const int8_t* qx = a[i].qs;
    for (int c = 0; c < 4; ++c, qx += 64) {
      const uint8x16_t v0 = vld1q_u8(b[i].qs + 32 * c), v1 = vld1q_u8(b[i].qs + 32 * c + 16);
      uint8x16_t lo0 = vandq_u8(v0, low4), lo1 = vandq_u8(v1, low4);
      uint8x16_t hi0 = vshrq_n_u8(v0, 4), hi1 = vshrq_n_u8(v1, 4);
      if constexpr (kFifthBit) {
        const uint8x16_t bl = vdupq_n_u8(static_cast<uint8_t>(1u << (2 * c)));
        const uint8x16_t bh = vdupq_n_u8(static_cast<uint8_t>(2u << (2 * c)));
        lo0 = vorrq_u8(lo0, vandq_u8(vtstq_u8(qh0, bl), x10));
        lo1 = vorrq_u8(lo1, vandq_u8(vtstq_u8(qh1, bl), x10));
        hi0 = vorrq_u8(hi0, vandq_u8(vtstq_u8(qh0, bh), x10));
        hi1 = vorrq_u8(hi1, vandq_u8(vtstq_u8(qh1, bh), x10));
      }
      const int32x4_t s_lo = dot32(vreinterpretq_s8_u8(lo0), vreinterpretq_s8_u8(lo1), vld1q_s8(qx), vld1q_s8(qx + 16));
      const int32x4_t s_hi =
          dot32(vreinterpretq_s8_u8(hi0), vreinterpretq_s8_u8(hi1), vld1q_s8(qx + 32), vld1q_s8(qx + 48));
      sumi = vmlaq_n_s32(sumi, s_lo, sc[2 * c]);
      sumi = vmlaq_n_s32(sumi, s_hi, sc[2 * c + 1]);
    }
    const int isum = vaddvq_s32(sumi);
    sum += a[i].d * (half(b[i].d) * static_cast<float>(isum) - half(b[i].dmin) * static_cast<float>(msum));
  }
  return sum;
}

float dot_q4_k(const void* w, const void* x, int64_t n) { return dot_k4<BlockQ4_K, false>(w, x, n); }
float dot_q5_k(const void* w, const void* x, int64_t n) { return dot_k4<BlockQ5_K, true>(w, x, n); }

// Q6_K: per half of 128 values, four 32-value rows q[k] (4 bits from ql, 2 from qh), less 32,
// each of two 16-value sub-blocks with its own scale.
float dot_q6_k(const void* w, const void* x, int64_t n) {
  const auto* b = static_cast<const BlockQ6_K*>(w);
  const auto* a = static_cast<const ActQ8_K*>(x);
  const uint8x16_t low4 = vdupq_n_u8(0x0F), three = vdupq_n_u8(3);
  const int8x16_t off = vdupq_n_s8(32);
  float sum = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    int32x4_t sumi = vdupq_n_s32(0);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = b[i].ql + 64 * h;
      const uint8_t* qhp = b[i].qh + 32 * h;
      const int8_t* qx = a[i].qs + 128 * h;
      const int8_t* sc = b[i].scales + 8 * h;
      for (int g = 0; g < 2; ++g) {  // values l = 16g .. 16g + 15 of each row
        const uint8x16_t l0 = vld1q_u8(ql + 16 * g), l1 = vld1q_u8(ql + 32 + 16 * g);
        const uint8x16_t qh = vld1q_u8(qhp + 16 * g);
        uint8x16_t q[4];
        q[0] = vorrq_u8(vandq_u8(l0, low4), vshlq_n_u8(vandq_u8(qh, three), 4));
        q[1] = vorrq_u8(vandq_u8(l1, low4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh, 2), three), 4));
        q[2] = vorrq_u8(vshrq_n_u8(l0, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh, 4), three), 4));
        q[3] = vorrq_u8(vshrq_n_u8(l1, 4), vshlq_n_u8(vshrq_n_u8(qh, 6), 4));
        for (int k = 0; k < 4; ++k) {
          const int32x4_t s = dot16(vdupq_n_s32(0), vsubq_s8(vreinterpretq_s8_u8(q[k]), off), vld1q_s8(qx + 32 * k + 16 * g));
          sumi = vmlaq_n_s32(sumi, s, sc[2 * k + g]);
        }
      }
    }
    sum += half(b[i].d) * a[i].d * static_cast<float>(vaddvq_s32(sumi));
  }
  return sum;
}

// --- attention helpers (as kernels_avx2.cpp, four lanes wide)

void dot_rows(const float* rows, int64_t stride, int n_rows, const float* x, int64_t n, float* out) {
  int i = 0;
  if (n % 4 == 0) {
    for (; i + 4 <= n_rows; i += 4) {  // four rows at once: one pairwise reduction for all four
      const float* r = rows + i * stride;
      float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t j = 0; j < n; j += 4) {
        const float32x4_t xv = vld1q_f32(x + j);
        a0 = vfmaq_f32(a0, vld1q_f32(r + j), xv);
        a1 = vfmaq_f32(a1, vld1q_f32(r + stride + j), xv);
        a2 = vfmaq_f32(a2, vld1q_f32(r + 2 * stride + j), xv);
        a3 = vfmaq_f32(a3, vld1q_f32(r + 3 * stride + j), xv);
      }
      vst1q_f32(out + i, vpaddq_f32(vpaddq_f32(a0, a1), vpaddq_f32(a2, a3)));
    }
  }
  for (; i < n_rows; ++i) out[i] = dot_f32(rows + i * stride, x, n);
}

void axpy_rows(const float* rows, int64_t stride, int n_rows, const float* a, int64_t n, float* y) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {  // four independent chains of FMAs
    float32x4_t y0 = vld1q_f32(y + j), y1 = vld1q_f32(y + j + 4), y2 = vld1q_f32(y + j + 8), y3 = vld1q_f32(y + j + 12);
    for (int i = 0; i < n_rows; ++i) {
      const float* r = rows + i * stride + j;
      y0 = vfmaq_n_f32(y0, vld1q_f32(r), a[i]);
      y1 = vfmaq_n_f32(y1, vld1q_f32(r + 4), a[i]);
      y2 = vfmaq_n_f32(y2, vld1q_f32(r + 8), a[i]);
      y3 = vfmaq_n_f32(y3, vld1q_f32(r + 12), a[i]);
    }
    vst1q_f32(y + j, y0);
    vst1q_f32(y + j + 4, y1);
    vst1q_f32(y + j + 8, y2);
    vst1q_f32(y + j + 12, y3);
  }
  for (; j + 4 <= n; j += 4) {
    float32x4_t acc = vld1q_f32(y + j);
    for (int i = 0; i < n_rows; ++i) acc = vfmaq_n_f32(acc, vld1q_f32(rows + i * stride + j), a[i]);
    vst1q_f32(y + j, acc);
  }
  for (; j < n; ++j)
    for (int i = 0; i < n_rows; ++i) y[j] += a[i] * rows[i * stride + j];
}

// exp(x) for x <= 0: 2^k * p(r) with k = round(x / ln 2), r = x - k ln 2 (ln 2 split in two so r
// is exact), |r| <= ln2 / 2, p the degree-6 Taylor polynomial (relative error below 2e-7).
// Inputs under -87 are clamped there (exp is then below 1e-37). The AVX2 set's formula.
inline float32x4_t exp_nonpositive(float32x4_t x) {
  x = vmaxq_f32(x, vdupq_n_f32(-87.0f));
  const float32x4_t k = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
  float32x4_t r = vfmsq_f32(x, k, vdupq_n_f32(0.693359375f));
  r = vfmsq_f32(r, k, vdupq_n_f32(-2.12194440e-4f));
  float32x4_t p = vdupq_n_f32(1.0f / 720);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 120), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 24), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 6), p, r);
  p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  const int32x4_t two_k = vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(k), vdupq_n_s32(127)), 23);
  return vmulq_f32(p, vreinterpretq_f32_s32(two_k));
}

float exp_sum(float* x, int64_t n, float max) {
  const float32x4_t m = vdupq_n_f32(max);
  float32x4_t acc = vdupq_n_f32(0);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t e = exp_nonpositive(vsubq_f32(vld1q_f32(x + i), m));
    vst1q_f32(x + i, e);
    acc = vaddq_f32(acc, e);
  }
  if (i < n) {  // the tail through the same formula, so a value does not depend on its position
    float tail[4];
    const int64_t rest = n - i;
    for (int l = 0; l < 4; ++l) tail[l] = l < rest ? x[i + l] - max : -100.0f;
    vst1q_f32(tail, exp_nonpositive(vld1q_f32(tail)));
    for (int64_t l = 0; l < rest; ++l) {
      x[i + l] = tail[l];
      acc = vsetq_lane_f32(vgetq_lane_f32(acc, 0) + tail[l], acc, 0);
    }
  }
  return vaddvq_f32(acc);
}

constexpr int32_t kLanes[4] = {0, 1, 2, 3};

// 4 floats at p (fp16 when kF16).
template <bool kF16>
inline float32x4_t load4(const void* p) {
  if constexpr (kF16) return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(static_cast<const uint16_t*>(p))));
  else return vld1q_f32(static_cast<const float*>(p));
}

// One block of AttendBlock for Q queries from i0 (hd a multiple of 4), as kernels_avx2.cpp: the 16
// keys in the lanes of four vectors per query, each key row shared by the Q queries; the softmax
// step; the values in 16-float slices of the output, each value row shared by the Q queries.
template <bool kF16, int Q>
void attend_queries(const AttendBlock& a, int i0) {
  constexpr int kKeys = AttendBlock::kKeys, kBytes = kF16 ? 2 : 4;
  const char* keys = static_cast<const char*>(a.keys[0]);
  float32x4_t s[Q][4];
  for (int qi = 0; qi < Q; ++qi)
    for (int l = 0; l < 4; ++l) s[qi][l] = vdupq_n_f32(0);
  for (int64_t j = 0; j < a.hd; ++j) {
    float32x4_t k[4];
    for (int l = 0; l < 4; ++l) k[l] = load4<kF16>(keys + kBytes * (kKeys * j + 4 * l));
#pragma GCC unroll 4
    for (int qi = 0; qi < Q; ++qi) {
      const float qj = a.q[i0 + qi][j];
      for (int l = 0; l < 4; ++l) s[qi][l] = vfmaq_n_f32(s[qi][l], k[l], qj);
    }
  }
  float p[Q][kKeys];
  float rescale[Q];
  int rows = 0;
  for (int qi = 0; qi < Q; ++qi) {
    const int i = i0 + qi, n = a.seen[i];
    rows = n > rows ? n : rows;
    float m = a.max[i];
    for (int l = 0; l < 4; ++l) vst1q_f32(p[qi] + 4 * l, vmulq_n_f32(s[qi][l], a.scale));
    for (int r = 0; r < n; ++r) m = p[qi][r] > m ? p[qi][r] : m;  // a NaN never becomes the max
    const float f = std::exp(a.max[i] - m);  // 0 on the first block (max from -inf)
    float32x4_t total = vdupq_n_f32(0);
    for (int l = 0; l < 4; ++l) {
      const uint32x4_t seen = vcltq_s32(vaddq_s32(vdupq_n_s32(4 * l), vld1q_s32(kLanes)), vdupq_n_s32(n));
      // exp of x - m <= 0 (or NaN, which stays NaN); lanes not seen are 0.
      const float32x4_t e = vreinterpretq_f32_u32(
          vandq_u32(vreinterpretq_u32_f32(exp_nonpositive(vsubq_f32(vld1q_f32(p[qi] + 4 * l), vdupq_n_f32(m)))), seen));
      vst1q_f32(p[qi] + 4 * l, e);
      total = vaddq_f32(total, e);
    }
    a.sum[i] = a.sum[i] * f + vaddvq_f32(total);
    a.max[i] = m;
    rescale[qi] = f;
  }
  const char* values = static_cast<const char*>(a.values[0]);
  for (int64_t c = 0; c < a.hd; c += 16) {
    const int nv = a.hd - c >= 16 ? 4 : static_cast<int>((a.hd - c) / 4);
    float32x4_t o[Q][4];
#pragma GCC unroll 4
    for (int qi = 0; qi < Q; ++qi)
      for (int v = 0; v < 4; ++v)
        o[qi][v] = v < nv ? vmulq_n_f32(vld1q_f32(a.acc + (i0 + qi) * a.hd + c + 4 * v), rescale[qi]) : vdupq_n_f32(0);
    for (int r = 0; r < rows; ++r) {
      const char* row = values + kBytes * (r * a.v_stride + c);
      float32x4_t val[4];
      for (int v = 0; v < 4; ++v) val[v] = v < nv ? load4<kF16>(row + kBytes * 4 * v) : vdupq_n_f32(0);
#pragma GCC unroll 4
      for (int qi = 0; qi < Q; ++qi)
        for (int v = 0; v < 4; ++v) o[qi][v] = vfmaq_n_f32(o[qi][v], val[v], p[qi][r]);
    }
#pragma GCC unroll 4
    for (int qi = 0; qi < Q; ++qi)
      for (int v = 0; v < nv; ++v) vst1q_f32(a.acc + (i0 + qi) * a.hd + c + 4 * v, o[qi][v]);
  }
}

void attend_block(const AttendBlock& a) {
  if (a.hd % 4 != 0) return scalar_set().attend_block(a);  // head sizes that are not a multiple of 4
  block_by_block(a, [](const AttendBlock& one) {
    if (one.f16) in_fours(one.nq, [&]<int Q>(int i0) { attend_queries<true, Q>(one, i0); });
    else in_fours(one.nq, [&]<int Q>(int i0) { attend_queries<false, Q>(one, i0); });
  });
}

}  // namespace

const KernelSet* neon_kernels() {
  static const KernelSet set = [] {
    KernelSet s{"neon", dot_f32, dot_f16, dot_bf16, dot_q8_0, dot_q4_0,
                dot_q4_1, dot_q5_0, dot_q5_1, dot_q4_k, dot_q5_k, dot_q6_k};
    s.dot_rows = dot_rows;
    s.axpy_rows = axpy_rows;
    s.exp_sum = exp_sum;
    s.attend_block = attend_block;
    return s;
  }();
  return &set;
}

}  // namespace citadel::kernels

#else

namespace citadel::kernels {
const KernelSet* neon_kernels() { return nullptr; }
}  // namespace citadel::kernels

#endif
