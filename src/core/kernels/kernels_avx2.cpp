// AVX2 + FMA + F16C kernels. This file alone is compiled with -mavx2 -mfma -mf16c (see
// CMakeLists.txt) and is only entered when the CPU has them. It keeps to intrinsics and its own
// static helpers: an inline function shared with other files could be emitted here with AVX2
// instructions and picked by the linker for the portable code.
#include "core/kernels/kernels_isa.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

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

// The 8 six-bit scales and mins of a Q4_K / Q5_K block.
inline void k4_scales(const uint8_t* s, uint8_t* sc, uint8_t* m) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    m[j] = s[j + 4] & 63;
    sc[j + 4] = (s[j + 8] & 0xF) | ((s[j] >> 6) << 4);
    m[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
  }
}

// Q4_K and Q5_K share the loop; `hi_bits(block, c)` returns the fifth bits of 64-value chunk c
// as 0x10 bytes (low 32 values, high 32 values), or zeros for Q4_K.
template <class Block, bool kFifthBit>
float dot_k4(const void* w, const void* x, int64_t n) {
  const auto* b = static_cast<const Block*>(w);
  const auto* a = static_cast<const ActQ8_K*>(x);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  float mins = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    uint8_t sc[8], m[8];
    k4_scales(b[i].scales, sc, m);
    int msum = 0;
    for (int j = 0; j < 8; ++j) msum += m[j] * (a[i].bsums[2 * j] + a[i].bsums[2 * j + 1]);
    mins += half(b[i].dmin) * a[i].d * static_cast<float>(msum);
    __m256i hbits = _mm256_setzero_si256();
    if constexpr (kFifthBit) hbits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qh));
    __m256i sumi = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs + 32 * c));
      __m256i lo = _mm256_and_si256(v, low4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
      if constexpr (kFifthBit) {
        const __m256i one = _mm256_set1_epi8(1);
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c), one), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c + 1), one), 4));
      }
      const __m256i x_lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs + 64 * c));
      const __m256i x_hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs + 64 * c + 32));
      const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, x_lo), _mm256_set1_epi16(sc[2 * c]));
      const __m256i p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, x_hi), _mm256_set1_epi16(sc[2 * c + 1]));
      sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p_lo, p_hi));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half(b[i].d) * a[i].d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc) - mins;
}

float dot_q4_k(const void* w, const void* x, int64_t n) { return dot_k4<BlockQ4_K, false>(w, x, n); }
float dot_q5_k(const void* w, const void* x, int64_t n) { return dot_k4<BlockQ5_K, true>(w, x, n); }

// Q6_K: values 0..63 as unsigned bytes against the activations; the -32 offset is taken off
// once per block through the activation sums (32 * sum_j scale[j] * bsums[j]).
float dot_q6_k(const void* w, const void* x, int64_t n) {
  const auto* b = static_cast<const BlockQ6_K*>(w);
  const auto* a = static_cast<const ActQ8_K*>(x);
  const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    int offset = 0;
    for (int j = 0; j < 16; ++j) offset += b[i].scales[j] * a[i].bsums[j];
    __m256i sumi = _mm256_set1_epi32(0);
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].ql + 64 * h));
      const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].ql + 64 * h + 32));
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qh + 32 * h));
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_slli_epi16(_mm256_and_si256(qh, two), 4));
      q[1] = _mm256_or_si256(_mm256_and_si256(ql1, low4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), two), 4));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), two), 4));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), two), 4));
      for (int k = 0; k < 4; ++k) {
        const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs + 128 * h + 32 * k));
        const int8_t* s = b[i].scales + 8 * h + 2 * k;
        const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(s[1]), _mm_set1_epi16(s[0]));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], qx), scale));
      }
    }
    const float d = half(b[i].d) * a[i].d;
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    acc = _mm256_sub_ps(acc, _mm256_setr_ps(d * 32.0f * static_cast<float>(offset), 0, 0, 0, 0, 0, 0, 0));
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
          for (int g = 0; g < G; ++g)
            sum[r][g] = _mm256_add_epi32(
                sum[r][g], _mm256_madd_epi16(_mm256_maddubs_epi16(wa, _mm256_sign_epi8(xv[g], wb)), ones));
        } else {
#pragma GCC unroll 4
          for (int g = 0; g < G; ++g) sum[r][g] = _mm256_add_epi16(sum[r][g], _mm256_maddubs_epi16(wb, xv[g]));
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

// Runs tile_pass over all rows and groups, two by two, with the remainders one by one.
// prepare(r, values, scales) makes row r's block values and float scales ready; it returns the
// value pointer and block stride (Q8_0 reads the row in place, Q4_0 unpacks into scratch).
template <bool kSigned, class Prepare>
void tile_all(int nr, const ActQ8_0x8* x, int n_groups, int64_t n, float* y, int64_t y_stride, uint8_t* scratch,
              Prepare prepare) {
  const int64_t nb = n / 32;
  float* scales = reinterpret_cast<float*>(scratch);
  uint8_t* values = scratch + 2 * nb * sizeof(float);
  for (int r0 = 0; r0 < nr; r0 += 2) {
    const int rn = nr - r0 >= 2 ? 2 : 1;
    const uint8_t* wq[2];
    const float* wd[2];
    size_t stride = 0;
    for (int i = 0; i < rn; ++i) {
      wd[i] = scales + i * nb;
      wq[i] = prepare(r0 + i, values + i * n, scales + i * nb, &stride);
    }
    for (int g0 = 0; g0 < n_groups; g0 += 2) {
      const int gn = n_groups - g0 >= 2 ? 2 : 1;
      const ActQ8_0x8* xg[2] = {x + g0 * nb, x + (g0 + gn - 1) * nb};
      float* yo = y + 8 * g0 * y_stride + r0;
      if (rn == 2 && gn == 2) tile_pass<2, 2, kSigned>(wq, stride, wd, xg, nb, yo, y_stride);
      else if (rn == 2) tile_pass<2, 1, kSigned>(wq, stride, wd, xg, nb, yo, y_stride);
      else if (gn == 2) tile_pass<1, 2, kSigned>(wq, stride, wd, xg, nb, yo, y_stride);
      else tile_pass<1, 1, kSigned>(wq, stride, wd, xg, nb, yo, y_stride);
    }
  }
}

void tile_q8_0(const void* w, size_t w_stride, int nr, const ActQ8_0x8* x, int n_groups, int64_t n, float* y,
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

void tile_q4_0(const void* w, size_t w_stride, int nr, const ActQ8_0x8* x, int n_groups, int64_t n, float* y,
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

}  // namespace

const KernelSet* avx2_kernels() {
  static const KernelSet set{"avx2", dot_f32, dot_f16, dot_bf16, dot_q8_0, dot_q4_0,
                             dot_q4_1, dot_q5_0, dot_q5_1, dot_q4_k, dot_q5_k, dot_q6_k,
                             tile_q8_0, tile_q4_0};
  return &set;
}

}  // namespace citadel::kernels

#else

namespace citadel::kernels {
const KernelSet* avx2_kernels() { return nullptr; }
}  // namespace citadel::kernels

#endif
