// AVX2 + FMA + F16C kernels. This file alone is compiled with -mavx2 -mfma -mf16c (see
// CMakeLists.txt) and is only entered when the CPU has them. It keeps to intrinsics and its own
// static helpers: an inline function shared with other files could be emitted here with AVX2
// instructions and picked by the linker for the portable code.
#include "core/kernels/kernels_isa.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/quant_blocks.h"

namespace citadel::kernels {
namespace {

inline float hsum(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

inline float half(uint16_t h) { return _cvtsh_ss(h); }

// The 32 nibbles of a legacy block as bytes 0..15, in value order (low nibbles are values 0..15).
inline __m256i nibbles32(const uint8_t* qs) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i v = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
  return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

// Byte j = 0x10 where bit j of the 32 bits at qh is set, else 0.
inline __m256i bit5_bytes(const uint8_t* qh) {
  uint32_t h;
  std::memcpy(&h, qh, 4);
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(h)),
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
  const __m256i mask = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, mask), mask);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// Eight int32 sums of 4 products each: unsigned bytes u times signed bytes s.
inline __m256i dot_us(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
// The same for two signed operands (|values| <= 127 keeps the pair sums inside int16).
inline __m256i dot_ss(__m256i a, __m256i b) { return dot_us(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a)); }

// --- float rows

float dot_f32(const void* w, const void* x, int64_t n) {
  const auto* a = static_cast<const float*>(w);
  const auto* b = static_cast<const float*>(x);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float sum = hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

template <class Widen, class Scalar>
float dot_half_row(const uint16_t* a, const float* b, int64_t n, Widen widen, Scalar scalar) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  auto load = [&](int64_t i) { return widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i))); };
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(load(i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(load(i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(load(i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(load(i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(load(i), _mm256_loadu_ps(b + i), acc0);
  float sum = hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) sum += scalar(a[i]) * b[i];
  return sum;
}

float dot_f16(const void* w, const void* x, int64_t n) {
  return dot_half_row(
      static_cast<const uint16_t*>(w), static_cast<const float*>(x), n, [](__m128i h) { return _mm256_cvtph_ps(h); },
      [](uint16_t h) { return half(h); });
}

float dot_bf16(const void* w, const void* x, int64_t n) {
  return dot_half_row(
      static_cast<const uint16_t*>(w), static_cast<const float*>(x), n,
      [](__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); },
      [](uint16_t h) {
        const uint32_t u = static_cast<uint32_t>(h) << 16;
        float f;
        std::memcpy(&f, &u, 4);
        return f;
      });
}

// --- legacy 32-value blocks. `ints(block)` gives the int32 partial sums of q * qx for one block,
// `min(block)` the format's min (0 without one). Two accumulators hide the FMA latency.
template <class Block, class Ints, class Min>
float dot_legacy(const void* w, const void* x, int64_t n, Ints ints, Min min) {
  const auto* b = static_cast<const Block*>(w);
  const auto* a = static_cast<const ActQ8_0*>(x);
  const int64_t nb = n / 32;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
  float mins = 0;
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    const __m256i qx0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs));
    const __m256i qx1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i + 1].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(half(b[i].d) * a[i].d), _mm256_cvtepi32_ps(ints(b[i], qx0)), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(half(b[i + 1].d) * a[i + 1].d), _mm256_cvtepi32_ps(ints(b[i + 1], qx1)), acc1);
    mins += min(b[i]) * a[i].s + min(b[i + 1]) * a[i + 1].s;
  }
  for (; i < nb; ++i) {
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(half(b[i].d) * a[i].d), _mm256_cvtepi32_ps(ints(b[i], qx)), acc0);
    mins += min(b[i]) * a[i].s;
  }
  return hsum(_mm256_add_ps(acc0, acc1)) + mins;
}

constexpr auto kNoMin = [](const auto&) { return 0.0f; };
constexpr auto kMin = [](const auto& blk) { return half(blk.m); };

float dot_q8_0(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ8_0>(w, x, n, [](const BlockQ8_0& blk, __m256i qx) {
    return dot_ss(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs)), qx);
  }, kNoMin);
}
// Q4_0 and Q5_0 are read as unsigned levels with a min of -8d (-16d): one maddubs, no sign
// fix-ups, and the offset comes from the activation block sums.
float dot_q4_0(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ4_0>(w, x, n, [](const BlockQ4_0& blk, __m256i qx) {
    return dot_us(nibbles32(blk.qs), qx);
  }, [](const BlockQ4_0& blk) { return -8.0f * half(blk.d); });
}
float dot_q4_1(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ4_1>(w, x, n, [](const BlockQ4_1& blk, __m256i qx) {
    return dot_us(nibbles32(blk.qs), qx);
  }, kMin);
}
float dot_q5_0(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ5_0>(w, x, n, [](const BlockQ5_0& blk, __m256i qx) {
    return dot_us(_mm256_or_si256(nibbles32(blk.qs), bit5_bytes(blk.qh)), qx);
  }, [](const BlockQ5_0& blk) { return -16.0f * half(blk.d); });
}
float dot_q5_1(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ5_1>(w, x, n, [](const BlockQ5_1& blk, __m256i qx) {
    return dot_us(_mm256_or_si256(nibbles32(blk.qs), bit5_bytes(blk.qh)), qx);
  }, kMin);
}

// --- K formats

// The 8 six-bit scales (bytes 0..7) and mins (bytes 8..15) of a Q4_K / Q5_K block, unpacked
// four at a time from the 12 scale bytes (layout in quant_blocks.h).
inline __m128i k4_scales_mins(const uint8_t* s) {
  uint32_t w[3];
  std::memcpy(w, s, 12);
  constexpr uint32_t kLow6 = 0x3f3f3f3f, kLow4 = 0x0f0f0f0f, kTop2 = 0x03030303;
  const uint32_t sc_lo = w[0] & kLow6, m_lo = w[1] & kLow6;
  const uint32_t sc_hi = (w[2] & kLow4) | (((w[0] >> 6) & kTop2) << 4);
  const uint32_t m_hi = ((w[2] >> 4) & kLow4) | (((w[1] >> 6) & kTop2) << 4);
  return _mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi), static_cast<int>(m_lo), static_cast<int>(m_hi));
}
inline void k4_scales(const uint8_t* s, uint8_t* sc, uint8_t* m) {
  alignas(16) uint8_t both[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(both), k4_scales_mins(s));
  std::memcpy(sc, both, 8);
  std::memcpy(m, both + 8, 8);
}

// Q4_K and Q5_K share the loop (kFifthBit: Q5_K's qh adds 16 to a value). The mins meet the
// activation sums of their 32 values in one madd; each 32-value half of a 64-value chunk gets its
// scale by a byte shuffle of the unpacked scales.
template <class Block, bool kFifthBit>
float dot_k4(const void* w, const void* x, int64_t n) {
  const auto* b = static_cast<const Block*>(w);
  const auto* a = static_cast<const ActQ8_K*>(x);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_min = _mm_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    const __m128i scales_mins = k4_scales_mins(b[i].scales);
    const float dx = a[i].d;
    const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].bsums));
    const __m128i sums32 = _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
    const __m128i mins = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_srli_si128(scales_mins, 8)), sums32);
    acc_min = _mm_fmadd_ps(_mm_set1_ps(half(b[i].dmin) * dx), _mm_cvtepi32_ps(mins), acc_min);
    const __m256i scales = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scales_mins));
    __m256i hbits = _mm256_setzero_si256();
    if constexpr (kFifthBit) hbits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qh));
    __m256i sumi = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs + 32 * c));
      __m256i lo = _mm256_and_si256(v, low4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
      if constexpr (kFifthBit) {
        const __m256i one = _mm256_set1_epi8(1);
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c), one), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c + 1), one), 4));
      }
      const __m256i scale_lo = _mm256_shuffle_epi8(scales, _mm256_set1_epi16(static_cast<short>(((4 * c + 1) << 8) | (4 * c))));
      const __m256i scale_hi = _mm256_shuffle_epi8(scales, _mm256_set1_epi16(static_cast<short>(((4 * c + 3) << 8) | (4 * c + 2))));
      const __m256i x_lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs + 64 * c));
      const __m256i x_hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs + 64 * c + 32));
      const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, x_lo), scale_lo);
      const __m256i p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, x_hi), scale_hi);
      sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p_lo, p_hi));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half(b[i].d) * dx), _mm256_cvtepi32_ps(sumi), acc);
  }
  __m128 m = _mm_add_ps(acc_min, _mm_movehl_ps(acc_min, acc_min));
  m = _mm_add_ss(m, _mm_movehdup_ps(m));
  return hsum(acc) - _mm_cvtss_f32(m);
}

float dot_q4_k(const void* w, const void* x, int64_t n) { return dot_k4<BlockQ4_K, false>(w, x, n); }
float dot_q5_k(const void* w, const void* x, int64_t n) { return dot_k4<BlockQ5_K, true>(w, x, n); }

// The 256 values of a Q6_K block as bytes 0..63, 32 per vector in value order.
inline void q6_values(const BlockQ6_K& b, __m256i* q) {
  const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3);
  for (int h = 0; h < 2; ++h) {
    const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h));
    const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h + 32));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h));
    __m256i* o = q + 4 * h;
    o[0] = _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_slli_epi16(_mm256_and_si256(qh, two), 4));
    o[1] = _mm256_or_si256(_mm256_and_si256(ql1, low4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), two), 4));
    o[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), two), 4));
    o[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), two), 4));
  }
}

// Q6_K: values 0..63 as unsigned bytes against the activations; the -32 offset is taken off in
// the integers through the activation sums (32 * sum_j scale[j] * bsums[j]). Each 32 values
// take their two 16-value scales from one permute of the scales widened to int16 pairs.
float dot_q6_k(const void* w, const void* x, int64_t n) {
  const auto* b = static_cast<const BlockQ6_K*>(w);
  const auto* a = static_cast<const ActQ8_K*>(x);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[i].scales)));
    const __m256i offset = _mm256_madd_epi16(s16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].bsums)));
    const __m128i s_lo = _mm256_castsi256_si128(s16), s_hi = _mm256_extracti128_si256(s16, 1);
    // int32 lane j of pairs[h] holds scale 8h + j in both of its int16 halves.
    const __m256i pairs[2] = {_mm256_set_m128i(_mm_unpackhi_epi16(s_lo, s_lo), _mm_unpacklo_epi16(s_lo, s_lo)),
                              _mm256_set_m128i(_mm_unpackhi_epi16(s_hi, s_hi), _mm_unpacklo_epi16(s_hi, s_hi))};
    __m256i q[8];
    q6_values(b[i], q);
    __m256i sumi = _mm256_slli_epi32(offset, 5);
    sumi = _mm256_sub_epi32(_mm256_setzero_si256(), sumi);
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs + 32 * k));
      const int j = (2 * k) % 8;
      const __m256i scale = _mm256_permutevar8x32_epi32(pairs[k / 4], _mm256_setr_epi32(j, j, j, j, j + 1, j + 1, j + 1, j + 1));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], qx), scale));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half(b[i].d) * a[i].d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc);
}

// --- prefill tiles: tokens in the 8 lanes, 4 weight bytes broadcast to all of them.
// R rows times G groups of 8 tokens per pass keeps R*G accumulators in registers and loads
// each broadcast weight word and each activation vector once for G (resp. R) products.
// kSigned (Q8_0): weights -128..127, products through the sign trick, int32 sums per word.
// Otherwise (Q4_0): weights 0..15 unsigned, int16 sums over the block (8 * 2 * 15 * 127 fits),
// and the -8 offset taken off through the activation sums.
template <int R, int G, bool kSigned>
void tile_pass(const uint8_t* const* wq, size_t wq_stride, const float* const* wd, const ActQ8_0x8* const* xg,
               int64_t nb, float* y, int64_t y_stride) {
  // Fully unrolled (R, G and the 8 words are compile-time), so every array lives in registers.
  __m256 acc[R][G];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) acc[r][g] = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    __m256i sum[R][G];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) sum[r][g] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      __m256i xv[G];
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) xv[g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xg[g][b].qs + 32 * j));
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        int32_t word;
        std::memcpy(&word, wq[r] + b * wq_stride + 4 * j, 4);
        const __m256i wb = _mm256_set1_epi32(word);
        if constexpr (kSigned) {
          const __m256i wa = _mm256_sign_epi8(wb, wb);
#pragma GCC unroll 4
          for (int g = 0; g < G; ++g) {
            sum[r][g] = _mm256_add_epi32(
                sum[r][g], _mm256_madd_epi16(_mm256_maddubs_epi16(wa, _mm256_sign_epi8(xv[g], wb)), ones));
            asm("" : "+x"(sum[r][g]));  // keep the running sum in a register (no reassociated spills)
          }
        } else {
#pragma GCC unroll 4
          for (int g = 0; g < G; ++g) {
            sum[r][g] = _mm256_add_epi16(sum[r][g], _mm256_maddubs_epi16(wb, xv[g]));
            asm("" : "+x"(sum[r][g]));
          }
        }
      }
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      const __m256 dx = _mm256_loadu_ps(xg[g][b].d);
      __m256i offset = _mm256_setzero_si256();
      if constexpr (!kSigned)
        offset = _mm256_slli_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xg[g][b].sum)), 3);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        __m256i isum = sum[r][g];
        if constexpr (!kSigned) isum = _mm256_sub_epi32(_mm256_madd_epi16(isum, ones), offset);
        acc[r][g] = _mm256_fmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(wd[r][b])), _mm256_cvtepi32_ps(isum), acc[r][g]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < G; ++g) {
      alignas(32) float out[8];
      _mm256_store_ps(out, acc[r][g]);
      for (int t = 0; t < 8; ++t) y[(8 * g + t) * y_stride + r] = out[t];
    }
}

// Runs a tile pass over all rows and groups, two by two, with the remainders one by one.
// prepare(i, r) makes row r ready as pair member i (0 or 1); run<R, G>(r0, g0) multiplies rows
// r0.. of the prepared pair with groups g0.. .
template <class Prepare, class Run>
void tile_pairs(int nr, int n_groups, Prepare prepare, Run run) {
  for (int r0 = 0; r0 < nr; r0 += 2) {
    const bool two_rows = nr - r0 >= 2;
    prepare(0, r0);
    if (two_rows) prepare(1, r0 + 1);
    for (int g0 = 0; g0 < n_groups; g0 += 2) {
      const bool two_groups = n_groups - g0 >= 2;
      if (two_rows && two_groups) run.template operator()<2, 2>(r0, g0);
      else if (two_rows) run.template operator()<2, 1>(r0, g0);
      else if (two_groups) run.template operator()<1, 2>(r0, g0);
      else run.template operator()<1, 1>(r0, g0);
    }
  }
}

// The legacy formats: row values (in place or unpacked to scratch) and per-block float scales.
// prepare(r, values, scales) makes row r's block values and float scales ready; it returns the
// value pointer and block stride (Q8_0 reads the row in place, Q4_0 unpacks into scratch).
template <bool kSigned, class Prepare>
void tile_all(int nr, const void* xv, int n_groups, int64_t n, float* y, int64_t y_stride, uint8_t* scratch,
              Prepare prepare) {
  const auto* x = static_cast<const ActQ8_0x8*>(xv);
  const int64_t nb = n / 32;
  float* scales = reinterpret_cast<float*>(scratch);
  uint8_t* values = scratch + 2 * nb * sizeof(float);
  const uint8_t* wq[2] = {};
  const float* wd[2] = {};
  size_t stride = 0;
  tile_pairs(nr, n_groups, [&](int i, int r) {
    wd[i] = scales + i * nb;
    wq[i] = prepare(r, values + i * n, scales + i * nb, &stride);
  }, [&]<int R, int G>(int r0, int g0) {
    const ActQ8_0x8* xg[2] = {x + g0 * nb, x + (g0 + G - 1) * nb};
    tile_pass<R, G, kSigned>(wq, stride, wd, xg, nb, y + 8 * g0 * y_stride + r0, y_stride);
  });
}

void tile_q8_0(const void* w, size_t w_stride, int nr, const void* x, int n_groups, int64_t n, float* y,
               int64_t y_stride, void* scratch) {
  const auto* base = static_cast<const uint8_t*>(w);
  tile_all<true>(nr, x, n_groups, n, y, y_stride, static_cast<uint8_t*>(scratch),
                 [&](int r, uint8_t*, float* scales, size_t* stride) {
                   const auto* b = reinterpret_cast<const BlockQ8_0*>(base + r * w_stride);
                   for (int64_t i = 0; i < n / 32; ++i) scales[i] = half(b[i].d);
                   *stride = sizeof(BlockQ8_0);
                   return reinterpret_cast<const uint8_t*>(b[0].qs);
                 });
}

void tile_q4_0(const void* w, size_t w_stride, int nr, const void* x, int n_groups, int64_t n, float* y,
               int64_t y_stride, void* scratch) {
  const auto* base = static_cast<const uint8_t*>(w);
  tile_all<false>(nr, x, n_groups, n, y, y_stride, static_cast<uint8_t*>(scratch),
                  [&](int r, uint8_t* values, float* scales, size_t* stride) {
                    const auto* b = reinterpret_cast<const BlockQ4_0*>(base + r * w_stride);
                    for (int64_t i = 0; i < n / 32; ++i) {
                      scales[i] = half(b[i].d);
                      _mm256_storeu_si256(reinterpret_cast<__m256i*>(values + 32 * i), nibbles32(b[i].qs));
                    }
                    *stride = 32;
                    return static_cast<const uint8_t*>(values);
                  });
}

// --- K-format tiles. A row is unpacked to one byte per value (Q4_K: 0..15; Q6_K: q - 32, so
// |q| <= 32) with its integer sub-block scales; products are summed in int16 per sub-block
// (Q4_K: 8 words of unsigned pairs <= 30480; Q6_K: 4 words of signed pairs <= 32512), scaled in
// int32 per 256-value block: the integers of dot_q4_k / dot_q6_k, in another order.
struct KRow {
  int8_t* q;           // n values
  float* d;            // per block: d (and dmin for Q4_K)
  float* dmin;
  int16_t* scales;     // per block: 8 (Q4_K) or 16 (Q6_K)
  int32_t* min_pairs;  // Q4_K per block: 4 words m[2p] | m[2p + 1] << 16
};

template <int R, int G, bool kQ6>
void tile_pass_k(const KRow* w, const ActQ8_Kx8* const* xg, int64_t nb, float* y, int64_t y_stride) {
  constexpr int kScales = kQ6 ? 16 : 8;
  __m256 acc[R][G];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) acc[r][g] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m256i isum[R][G];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) isum[r][g] = _mm256_setzero_si256();
    for (int s = 0; s < kScales; ++s) {  // sub-blocks: 32 values (Q4_K) or 16 (Q6_K)
      constexpr int kWords = kQ6 ? 4 : 8;
      __m256i sum[R][G];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) sum[r][g] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int j = 0; j < kWords; ++j) {
        const int64_t v = 256 * b + 4 * kWords * s + 4 * j;  // first of the 4 values of this word
        __m256i xv[G];
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) xv[g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xg[g][b].qs + 8 * (v - 256 * b)));
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          int32_t word;
          std::memcpy(&word, w[r].q + v, 4);
          const __m256i wb = _mm256_set1_epi32(word);
          if constexpr (kQ6) {
            const __m256i wa = _mm256_abs_epi8(wb);
#pragma GCC unroll 4
            for (int g = 0; g < G; ++g) {
              sum[r][g] = _mm256_add_epi16(sum[r][g], _mm256_maddubs_epi16(wa, _mm256_sign_epi8(xv[g], wb)));
              asm("" : "+x"(sum[r][g]));
            }
          } else {
#pragma GCC unroll 4
            for (int g = 0; g < G; ++g) {
              sum[r][g] = _mm256_add_epi16(sum[r][g], _mm256_maddubs_epi16(wb, xv[g]));
              asm("" : "+x"(sum[r][g]));
            }
          }
        }
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m256i scale = _mm256_set1_epi16(w[r].scales[kScales * b + s]);
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) isum[r][g] = _mm256_add_epi32(isum[r][g], _mm256_madd_epi16(sum[r][g], scale));
      }
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      const __m256 dx = _mm256_loadu_ps(xg[g][b].d);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        acc[r][g] = _mm256_fmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(w[r].d[b])), _mm256_cvtepi32_ps(isum[r][g]), acc[r][g]);
        if constexpr (!kQ6) {
          __m256i msum = _mm256_setzero_si256();
#pragma GCC unroll 4
          for (int p = 0; p < 4; ++p)
            msum = _mm256_add_epi32(msum, _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xg[g][b].msums[p])),
                                                            _mm256_set1_epi32(w[r].min_pairs[4 * b + p])));
          acc[r][g] = _mm256_fnmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(w[r].dmin[b])), _mm256_cvtepi32_ps(msum), acc[r][g]);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < G; ++g) {
      alignas(32) float out[8];
      _mm256_store_ps(out, acc[r][g]);
      for (int t = 0; t < 8; ++t) y[(8 * g + t) * y_stride + r] = out[t];
    }
}

// Scratch for a pair of unpacked K rows: values, then per row and block 2 floats, 16 scales
// and 4 min pairs (96 bytes per 256 values: inside tile_scratch_bytes).
template <bool kQ6, class Unpack>
void tile_all_k(int nr, const void* xv, int n_groups, int64_t n, float* y, int64_t y_stride, uint8_t* scratch,
                Unpack unpack) {
  const auto* x = static_cast<const ActQ8_Kx8*>(xv);
  const int64_t nb = n / 256;
  KRow rows[2];
  for (int i = 0; i < 2; ++i) {
    uint8_t* meta = scratch + 2 * n + i * nb * 96;
    auto* d = reinterpret_cast<float*>(meta);
    rows[i] = {reinterpret_cast<int8_t*>(scratch + i * n), d, d + nb, reinterpret_cast<int16_t*>(d + 2 * nb),
               reinterpret_cast<int32_t*>(d + 2 * nb + 8 * nb)};
  }
  tile_pairs(nr, n_groups, [&](int i, int r) { unpack(r, rows[i]); },
             [&]<int R, int G>(int r0, int g0) {
               const ActQ8_Kx8* xg[2] = {x + g0 * nb, x + (g0 + G - 1) * nb};
               tile_pass_k<R, G, kQ6>(rows, xg, nb, y + 8 * g0 * y_stride + r0, y_stride);
             });
}

void tile_q4_k(const void* w, size_t w_stride, int nr, const void* x, int n_groups, int64_t n, float* y,
               int64_t y_stride, void* scratch) {
  const auto* base = static_cast<const uint8_t*>(w);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  tile_all_k<false>(nr, x, n_groups, n, y, y_stride, static_cast<uint8_t*>(scratch), [&](int r, KRow& row) {
    const auto* b = reinterpret_cast<const BlockQ4_K*>(base + r * w_stride);
    auto [q, d, dmin, scales, min_pairs] = row;
    for (int64_t i = 0; i < n / 256; ++i) {
      uint8_t sc[8], m[8];
      k4_scales(b[i].scales, sc, m);
      for (int j = 0; j < 8; ++j) scales[8 * i + j] = sc[j];
      for (int p = 0; p < 4; ++p) min_pairs[4 * i + p] = m[2 * p] | (m[2 * p + 1] << 16);
      d[i] = half(b[i].d);
      dmin[i] = half(b[i].dmin);
      for (int c = 0; c < 4; ++c) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs + 32 * c));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 256 * i + 64 * c), _mm256_and_si256(v, low4));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 256 * i + 64 * c + 32),
                            _mm256_and_si256(_mm256_srli_epi16(v, 4), low4));
      }
    }
  });
}

void tile_q6_k(const void* w, size_t w_stride, int nr, const void* x, int n_groups, int64_t n, float* y,
               int64_t y_stride, void* scratch) {
  const auto* base = static_cast<const uint8_t*>(w);
  tile_all_k<true>(nr, x, n_groups, n, y, y_stride, static_cast<uint8_t*>(scratch), [&](int r, KRow& row) {
    const auto* b = reinterpret_cast<const BlockQ6_K*>(base + r * w_stride);
    auto [q, d, dmin, scales, min_pairs] = row;
    for (int64_t i = 0; i < n / 256; ++i) {
      for (int j = 0; j < 16; ++j) scales[16 * i + j] = b[i].scales[j];
      d[i] = half(b[i].d);
      __m256i v[8];
      q6_values(b[i], v);
      for (int k = 0; k < 8; ++k)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 256 * i + 32 * k), _mm256_sub_epi8(v[k], _mm256_set1_epi8(32)));
    }
  });
}

// --- float tiles (F16, BF16 weights; float activations interleaved [k][8 tokens]). Rows are
// widened to floats 4 at a time into scratch; each weight value is broadcast against the 8 tokens
// of G groups: R x G accumulators of independent FMAs.
template <int R, int G>
void tile_pass_float(const float* const* w, const float* const* xg, int64_t n, float* y, int64_t y_stride) {
  __m256 acc[R][G];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) acc[r][g] = _mm256_setzero_ps();
  for (int64_t k = 0; k < n; ++k) {
    __m256 xv[G];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) xv[g] = _mm256_loadu_ps(xg[g] + 8 * k);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 wb = _mm256_broadcast_ss(w[r] + k);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        acc[r][g] = _mm256_fmadd_ps(wb, xv[g], acc[r][g]);
      }
    }
  }
  // Unrolled too: an array indexed at run time anywhere would be kept in memory, every FMA with it.
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      alignas(32) float out[8];
      _mm256_store_ps(out, acc[r][g]);
      for (int t = 0; t < 8; ++t) y[(8 * g + t) * y_stride + r] = out[t];
    }
}

template <class Widen>
void tile_float(const void* w, size_t w_stride, int nr, const void* xv, int n_groups, int64_t n, float* y,
                int64_t y_stride, void* scratch, Widen widen) {
  const auto* base = static_cast<const uint8_t*>(w);
  const auto* x = static_cast<const float*>(xv);
  float* rows = static_cast<float*>(scratch);  // 4 widened rows: 16n bytes
  for (int r0 = 0; r0 < nr; r0 += 4) {
    const int rn = std::min(4, nr - r0);
    const float* wr[4];
    for (int i = 0; i < rn; ++i) {
      widen(reinterpret_cast<const uint16_t*>(base + (r0 + i) * w_stride), rows + i * n, n);
      wr[i] = rows + i * n;
    }
    for (int g0 = 0; g0 < n_groups; g0 += 2) {
      const bool two = n_groups - g0 >= 2;
      const float* xg[2] = {x + g0 * 8 * n, x + (g0 + (two ? 1 : 0)) * 8 * n};
      float* yo = y + 8 * g0 * y_stride + r0;
      if (rn == 4 && two) tile_pass_float<4, 2>(wr, xg, n, yo, y_stride);
      else if (rn == 4) tile_pass_float<4, 1>(wr, xg, n, yo, y_stride);
      else
        for (int i = 0; i < rn; ++i) {
          if (two) tile_pass_float<1, 2>(wr + i, xg, n, yo + i, y_stride);
          else tile_pass_float<1, 1>(wr + i, xg, n, yo + i, y_stride);
        }
    }
  }
}

void widen_f16(const uint16_t* h, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
  for (; i < n; ++i) out[i] = half(h[i]);
}

void widen_bf16(const uint16_t* h, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_castsi256_ps(_mm256_slli_epi32(
                                  _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))), 16)));
  for (; i < n; ++i) {
    const uint32_t u = static_cast<uint32_t>(h[i]) << 16;
    std::memcpy(out + i, &u, 4);
  }
}

void tile_f16(const void* w, size_t w_stride, int nr, const void* x, int n_groups, int64_t n, float* y,
              int64_t y_stride, void* scratch) {
  tile_float(w, w_stride, nr, x, n_groups, n, y, y_stride, scratch, widen_f16);
}

void tile_bf16(const void* w, size_t w_stride, int nr, const void* x, int n_groups, int64_t n, float* y,
               int64_t y_stride, void* scratch) {
  tile_float(w, w_stride, nr, x, n_groups, n, y, y_stride, scratch, widen_bf16);
}

// --- decode over Q4_0 rows interleaved 8 at a time (core/repack.h): rows in the lanes, each
// activation word broadcast; unsigned levels (pair sums fit int16 over a block: 8 x 3810), the
// -8 offset taken off in float through the activation sum s.
void dot_q4_0_rows8(const void* group, const void* x, int64_t n, float* out) {
  const auto* g = static_cast<const uint8_t*>(group);
  const auto* a = static_cast<const ActQ8_0*>(x);
  const __m256i low4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b) {
    const uint8_t* blk = g + b * 144;
    __m256i sum = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * j));
      int32_t lo_word, hi_word;
      std::memcpy(&lo_word, a[b].qs + 4 * j, 4);
      std::memcpy(&hi_word, a[b].qs + 16 + 4 * j, 4);
      sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(_mm256_and_si256(v, low4), _mm256_set1_epi32(lo_word)));
      sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4),
                                                       _mm256_set1_epi32(hi_word)));
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)));
    const __m256 xsum = _mm256_fmsub_ps(_mm256_set1_ps(a[b].d), _mm256_cvtepi32_ps(_mm256_madd_epi16(sum, ones)),
                                        _mm256_set1_ps(8.0f * a[b].s));
    acc = _mm256_fmadd_ps(dw, xsum, acc);
  }
  _mm256_storeu_ps(out, acc);
}

// --- attention helpers

// Rows of floats against one float vector (`load` widens 8 values, `scalar` one).
inline __m256 load_f32(const float* p) { return _mm256_loadu_ps(p); }
inline float scalar_f32(float v) { return v; }

template <class T, class Load, class Scalar>
void dot_rows_of(const T* rows, int64_t stride, int n_rows, const float* x, int64_t n, float* out, Load load,
                 Scalar scalar) {
  int i = 0;
  if (n % 8 == 0) {
    for (; i + 4 <= n_rows; i += 4) {  // four rows at once: one horizontal sum for all four
      const T* r = rows + i * stride;
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t j = 0; j < n; j += 8) {
        const __m256 xv = _mm256_loadu_ps(x + j);
        a0 = _mm256_fmadd_ps(load(r + j), xv, a0);
        a1 = _mm256_fmadd_ps(load(r + stride + j), xv, a1);
        a2 = _mm256_fmadd_ps(load(r + 2 * stride + j), xv, a2);
        a3 = _mm256_fmadd_ps(load(r + 3 * stride + j), xv, a3);
      }
      const __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
      _mm_storeu_ps(out + i, _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1)));
    }
  }
  for (; i < n_rows; ++i) {
    const T* r = rows + i * stride;
    __m256 acc = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) acc = _mm256_fmadd_ps(load(r + j), _mm256_loadu_ps(x + j), acc);
    float sum = hsum(acc);
    for (; j < n; ++j) sum += scalar(r[j]) * x[j];
    out[i] = sum;
  }
}

template <class T, class Load, class Scalar>
void axpy_rows_of(const T* rows, int64_t stride, int n_rows, const float* a, int64_t n, float* y, Load load,
                  Scalar scalar) {
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {  // four independent chains of FMAs
    __m256 y0 = _mm256_loadu_ps(y + j), y1 = _mm256_loadu_ps(y + j + 8);
    __m256 y2 = _mm256_loadu_ps(y + j + 16), y3 = _mm256_loadu_ps(y + j + 24);
    for (int i = 0; i < n_rows; ++i) {
      const T* r = rows + i * stride + j;
      const __m256 ai = _mm256_set1_ps(a[i]);
      y0 = _mm256_fmadd_ps(ai, load(r), y0);
      y1 = _mm256_fmadd_ps(ai, load(r + 8), y1);
      y2 = _mm256_fmadd_ps(ai, load(r + 16), y2);
      y3 = _mm256_fmadd_ps(ai, load(r + 24), y3);
    }
    _mm256_storeu_ps(y + j, y0);
    _mm256_storeu_ps(y + j + 8, y1);
    _mm256_storeu_ps(y + j + 16, y2);
    _mm256_storeu_ps(y + j + 24, y3);
  }
  for (; j + 8 <= n; j += 8) {
    __m256 acc = _mm256_loadu_ps(y + j);
    for (int i = 0; i < n_rows; ++i) acc = _mm256_fmadd_ps(_mm256_set1_ps(a[i]), load(rows + i * stride + j), acc);
    _mm256_storeu_ps(y + j, acc);
  }
  for (; j < n; ++j)
    for (int i = 0; i < n_rows; ++i) y[j] += a[i] * scalar(rows[i * stride + j]);
}

void dot_rows(const float* rows, int64_t stride, int n_rows, const float* x, int64_t n, float* out) {
  dot_rows_of(rows, stride, n_rows, x, n, out, load_f32, scalar_f32);
}
void axpy_rows(const float* rows, int64_t stride, int n_rows, const float* a, int64_t n, float* y) {
  axpy_rows_of(rows, stride, n_rows, a, n, y, load_f32, scalar_f32);
}

// F16C rounds to nearest even, as fp32_to_fp16; NaNs are made the canonical quiet NaN as there.
void to_f16(const float* x, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
    const __m128i nan = _mm_packs_epi32(_mm256_castsi256_si128(_mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q))),
                                        _mm256_extracti128_si256(_mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)), 1));
    const __m128i canonical = _mm_or_si128(_mm_and_si128(h, _mm_set1_epi16(static_cast<short>(0x8000))), _mm_set1_epi16(0x7e00));
    h = _mm_blendv_epi8(h, canonical, nan);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, x + i, 4);
    out[i] = x[i] != x[i] ? static_cast<uint16_t>(((bits >> 16) & 0x8000u) | 0x7e00u)
                          : static_cast<uint16_t>(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
  }
}

// exp(x): 2^k * p(r) with k = round(x / ln 2), r = x - k ln 2 (ln 2 split in two so r is
// exact), |r| <= ln2 / 2, p the degree-6 Taylor polynomial (relative error below 2e-7). Inputs are
// clamped to [-87, 88], where 2^k stays a normal float (exp(-87) ~ 1.6e-38, exp(88) ~ 1.7e38).
// max/min return their second operand when one is NaN: x goes second, so a NaN stays NaN.
inline __m256 exp_clamped(__m256 x) {
  x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-87.0f), x));
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i two_k = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(two_k));
}

void silu_mul(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), exp_clamped(_mm256_sub_ps(_mm256_setzero_ps(), g))));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

float exp_sum(float* x, int64_t n, float max) {
  const __m256 m = _mm256_set1_ps(max);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp_clamped(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
    _mm256_storeu_ps(x + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  if (i < n) {  // the tail through the same formula, so a value does not depend on its position
    alignas(32) float tail[8];
    const int64_t rest = n - i;
    for (int l = 0; l < 8; ++l) tail[l] = l < rest ? x[i + l] - max : -100.0f;
    const __m256 e = _mm256_and_ps(exp_clamped(_mm256_load_ps(tail)),
                                   _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rest)),
                                                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))));
    _mm256_store_ps(tail, e);
    for (int64_t l = 0; l < rest; ++l) x[i + l] = tail[l];
    acc = _mm256_add_ps(acc, e);
  }
  return hsum(acc);
}

// Largest of 8 floats (no NaN among them).
inline float hmax(__m256 v) {
  __m128 r = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  r = _mm_max_ps(r, _mm_movehl_ps(r, r));
  r = _mm_max_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

// 8 floats at p (fp16 when kF16).
template <bool kF16>
inline __m256 load8(const void* p) {
  if constexpr (kF16) return _mm256_cvtph_ps(_mm_loadu_si128(static_cast<const __m128i*>(p)));
  else return _mm256_loadu_ps(static_cast<const float*>(p));
}

// One block of AttendBlock for Q queries from i0 (hd a multiple of 8): the 16 keys in the lanes of
// two vectors per query (each key row shared by the Q queries), the softmax step on them, then the
// values in 16-float slices of the output, each value row shared by the Q queries.
template <bool kF16, int Q>
void attend_queries(const AttendBlock& a, int i0) {
  constexpr int kKeys = AttendBlock::kKeys, kBytes = kF16 ? 2 : 4;
  const char* keys = static_cast<const char*>(a.keys[0]);
  __m256 lo[Q], hi[Q];
  for (int qi = 0; qi < Q; ++qi) lo[qi] = hi[qi] = _mm256_setzero_ps();
  for (int64_t j = 0; j < a.hd; ++j) {
    const __m256 k0 = load8<kF16>(keys + kBytes * kKeys * j), k1 = load8<kF16>(keys + kBytes * (kKeys * j + 8));
#pragma GCC unroll 4
    for (int qi = 0; qi < Q; ++qi) {
      const __m256 b = _mm256_set1_ps(a.q[i0 + qi][j]);
      lo[qi] = _mm256_fmadd_ps(b, k0, lo[qi]);
      hi[qi] = _mm256_fmadd_ps(b, k1, hi[qi]);
    }
  }
  alignas(32) float p[Q][kKeys];
  __m256 rescale[Q];
  int rows = 0;
  const __m256 minus_inf = _mm256_set1_ps(-INFINITY);
  for (int qi = 0; qi < Q; ++qi) {
    const int i = i0 + qi, n = a.seen[i];
    rows = n > rows ? n : rows;
    const __m256 vlo = _mm256_mul_ps(lo[qi], _mm256_set1_ps(a.scale)), vhi = _mm256_mul_ps(hi[qi], _mm256_set1_ps(a.scale));
    const __m256 seen_lo = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
    const __m256 seen_hi = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15)));
    // A NaN is never the max.
    const __m256 use_lo = _mm256_and_ps(seen_lo, _mm256_cmp_ps(vlo, vlo, _CMP_ORD_Q));
    const __m256 use_hi = _mm256_and_ps(seen_hi, _mm256_cmp_ps(vhi, vhi, _CMP_ORD_Q));
    const float block_max = hmax(_mm256_max_ps(_mm256_blendv_ps(minus_inf, vlo, use_lo), _mm256_blendv_ps(minus_inf, vhi, use_hi)));
    const float m = block_max > a.max[i] ? block_max : a.max[i];
    const float f = std::exp(a.max[i] - m);  // 0 on the first block (max from -inf)
    const __m256 mv = _mm256_set1_ps(m);
    const __m256 elo = _mm256_and_ps(exp_clamped(_mm256_sub_ps(vlo, mv)), seen_lo);
    const __m256 ehi = _mm256_and_ps(exp_clamped(_mm256_sub_ps(vhi, mv)), seen_hi);
    _mm256_store_ps(p[qi], elo);
    _mm256_store_ps(p[qi] + 8, ehi);
    a.sum[i] = a.sum[i] * f + hsum(_mm256_add_ps(elo, ehi));
    a.max[i] = m;
    rescale[qi] = _mm256_set1_ps(f);
  }
  const char* values = static_cast<const char*>(a.values[0]);
  for (int64_t c = 0; c < a.hd; c += 16) {
    const int nv = a.hd - c >= 16 ? 2 : 1;
    __m256 o[Q][2];
#pragma GCC unroll 4
    for (int qi = 0; qi < Q; ++qi)
      for (int v = 0; v < 2; ++v)
        o[qi][v] = v < nv ? _mm256_mul_ps(_mm256_loadu_ps(a.acc + (i0 + qi) * a.hd + c + 8 * v), rescale[qi]) : _mm256_setzero_ps();
    for (int r = 0; r < rows; ++r) {
      const char* row = values + kBytes * (r * a.v_stride + c);
      const __m256 v0 = load8<kF16>(row), v1 = nv == 2 ? load8<kF16>(row + 8 * kBytes) : _mm256_setzero_ps();
#pragma GCC unroll 4
      for (int qi = 0; qi < Q; ++qi) {
        const __m256 w = _mm256_set1_ps(p[qi][r]);
        o[qi][0] = _mm256_fmadd_ps(w, v0, o[qi][0]);
        o[qi][1] = _mm256_fmadd_ps(w, v1, o[qi][1]);
      }
    }
#pragma GCC unroll 4
    for (int qi = 0; qi < Q; ++qi)
      for (int v = 0; v < nv; ++v) _mm256_storeu_ps(a.acc + (i0 + qi) * a.hd + c + 8 * v, o[qi][v]);
  }
}

void attend_block(const AttendBlock& a) {
  if (a.hd % 8 != 0) return scalar_set().attend_block(a);  // head sizes that are not a multiple of 8
  block_by_block(a, [](const AttendBlock& one) {
    if (one.f16) in_fours(one.nq, [&]<int Q>(int i0) { attend_queries<true, Q>(one, i0); });
    else in_fours(one.nq, [&]<int Q>(int i0) { attend_queries<false, Q>(one, i0); });
  });
}

// --- activation quantization: act_quant.cpp's arithmetic (amax / 127, x * (1 / d) rounded to
// nearest even), so the integers are the same.

inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_hadd_epi32(s, s);
  s = _mm_hadd_epi32(s, s);
  return _mm_cvtsi128_si32(s);
}

// 32 floats times id, rounded, to 32 int8; sums[0], sums[1] get the sums of each 16.
inline void quantize_32(const float* x, float id, int8_t* q, int* sums) {
  __m256i v[4];
  for (int i = 0; i < 4; ++i) v[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), _mm256_set1_ps(id)));
  // packs interleave the 128-bit lanes; the permute puts the 32 bytes back in order.
  const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q),
                      _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  sums[0] = hsum_i32(_mm256_add_epi32(v[0], v[1]));
  sums[1] = hsum_i32(_mm256_add_epi32(v[2], v[3]));
}

// max |x| over n (a multiple of 8) values; a NaN is skipped, as in act_quant.cpp.
inline float abs_max(const float* x, int64_t n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i += 8) m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)), m);
  __m128 r = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  r = _mm_max_ps(r, _mm_movehl_ps(r, r));
  r = _mm_max_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

void quantize_act_avx2(ActFormat format, const float* x, void* out, int64_t n) {
  if (format == ActFormat::Q8_0) {
    auto* b = static_cast<ActQ8_0*>(out);
    for (int64_t i = 0; i < n / 32; ++i, x += 32) {
      const float d = abs_max(x, 32) / 127.0f;
      int sums[2];
      quantize_32(x, d ? 1.0f / d : 0.0f, b[i].qs, sums);
      b[i].d = d;
      b[i].s = d * static_cast<float>(sums[0] + sums[1]);
    }
  } else if (format == ActFormat::Q8_K) {
    auto* b = static_cast<ActQ8_K*>(out);
    for (int64_t i = 0; i < n / 256; ++i, x += 256) {
      const float d = abs_max(x, 256) / 127.0f;
      const float id = d ? 1.0f / d : 0.0f;
      b[i].d = d;
      for (int j = 0; j < 8; ++j) {
        int sums[2];
        quantize_32(x + 32 * j, id, b[i].qs + 32 * j, sums);
        b[i].bsums[2 * j] = static_cast<int16_t>(sums[0]);
        b[i].bsums[2 * j + 1] = static_cast<int16_t>(sums[1]);
      }
    }
  } else {
    quantize_act(format, x, out, n);
  }
}

}  // namespace

const KernelSet* avx2_kernels() {
  static const KernelSet set = [] {
    KernelSet s{"avx2", dot_f32, dot_f16, dot_bf16, dot_q8_0, dot_q4_0,
                dot_q4_1, dot_q5_0, dot_q5_1, dot_q4_k, dot_q5_k, dot_q6_k,
                tile_q8_0, tile_q4_0, tile_q4_k, tile_q6_k, tile_f16, tile_bf16};
    s.dot_rows = dot_rows;
    s.axpy_rows = axpy_rows;
    s.exp_sum = exp_sum;
    s.attend_block = attend_block;
    s.to_f16 = to_f16;
    s.quantize_act = quantize_act_avx2;
    s.silu_mul = silu_mul;
    s.dot_q4_0_rows8 = dot_q4_0_rows8;
    return s;
  }();
  return &set;
}

}  // namespace citadel::kernels

#else

namespace citadel::kernels {
const KernelSet* avx2_kernels() { return nullptr; }
}  // namespace citadel::kernels

#endif
