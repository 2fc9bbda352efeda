// AVX-512 kernels: F, BW, VL and VNNI (vpdpbusd: four u8 x s8 products summed into an int32 lane
// in one instruction; vpdpwssd the same for int16 pairs), with AVX2, FMA and F16C. Compiled twice
// (CMakeLists.txt): natively, with those flags, as the `avx512` set (entered only when the CPU has
// them), and by kernels_avx512_emulated.cpp against SIMDe's native aliases with AVX2 flags only, as
// `avx512-emulated`, so the same source runs and is tested on x86 machines without AVX-512. It keeps
// to intrinsics and its own static helpers (an inline function shared with other files could be
// emitted here with AVX-512 instructions and picked by the linker for the portable code).
//
// BF16 weights in the dot (decode) are widened by a shift and multiplied with FMA, like F16 after
// vcvtph2ps; the BF16 prefill tile uses vdpbf16ps where the CPU has AVX512_BF16 (rounding the
// activations to bf16, as llama.cpp does; bench/avx512_bf16_dot.cpp and docs/performance.md).
#include "core/kernels/kernels_isa.h"

#if defined(CITADEL_AVX512_EMULATED)
#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__) && \
    __has_include(<simde/x86/avx512.h>)
#include "core/kernels/avx512_simde.h"
#define CITADEL_AVX512_BODY 1
#endif
#define CITADEL_AVX512_ENTRY avx512_emulated_kernels
#define CITADEL_AVX512_NAME "avx512-emulated"
#else
#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512VNNI__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define CITADEL_AVX512_BODY 1
#endif
#define CITADEL_AVX512_ENTRY avx512_kernels
#define CITADEL_AVX512_NAME "avx512"
#endif

#if defined(CITADEL_AVX512_BODY)
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/cpu_features.h"  // declarations only: nothing of it is emitted here
#include "core/quant_blocks.h"

namespace citadel::kernels {
namespace {

inline float half(uint16_t h) { return _cvtsh_ss(h); }
// Hides a pointer's value from GCC, so that what it points to is not kept in registers across a
// loop (SIMDe's vectors are structs in memory: nothing to hide or pin in the emulated build).
template <class T>
inline void pin_address(T*& p) {
#if !defined(CITADEL_AVX512_EMULATED)
  asm("" : "+r"(p));
#else
  (void)p;
#endif
}
// Keeps a running sum in a register: GCC otherwise left one of a tile's sums on the stack, a
// store and a reload around every instruction that adds to it.
template <class V>
inline void pin(V& v) {
#if !defined(CITADEL_AVX512_EMULATED)
  asm("" : "+v"(v));
#else
  (void)v;
#endif
}
inline int32_t word_at(const void* p) {
  int32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

inline __m256 sum_halves(__m512 v) {
  return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}
inline float hsum(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}
inline float hsum(__m512 v) { return hsum(sum_halves(v)); }
inline int hsum_i32(__m512i v) {
  __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// Two groups of 8 tokens side by side (the tiles' vectors): lanes 0-7 from lo, 8-15 from hi.
inline __m512i pair_i(const void* lo, const void* hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(static_cast<const __m256i*>(lo))),
                            _mm256_loadu_si256(static_cast<const __m256i*>(hi)), 1);
}
inline __m512 pair_f(const float* lo, const float* hi) {
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(lo))),
                                             _mm256_castps_pd(_mm256_loadu_ps(hi)), 1));
}
// The 256 bits at p in both halves.
inline __m512i both_halves(const void* p) {
  return _mm512_broadcast_i64x4(_mm256_loadu_si256(static_cast<const __m256i*>(p)));
}
// 16-bit lanes: a in the low 256 bits, b in the high ones (shift counts, permute indices).
inline __m512i halves16(short a, short b) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(a)), _mm256_set1_epi16(b), 1);
}

// The 32 nibbles of a legacy block as bytes 0..15, in value order (low nibbles are values 0..15).
inline __m256i nibbles32(const uint8_t* qs) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0F));
}

// Byte j = 0x10 where bit j of the 32 bits at qh is set, else 0.
inline __m256i bit5_bytes(const uint8_t* qh) {
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(word_at(qh)),
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
  const __m256i mask = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, mask), mask), _mm256_set1_epi8(0x10));
}

// --- float rows: 16 values per step; the tail goes through a zero-padded copy, in the same order.

// Lambdas, not functions: each has its own type, so the templates below inline them.
constexpr auto load16_f32 = [](const float* p) { return _mm512_loadu_ps(p); };
constexpr auto load16_f16 = [](const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
};
constexpr auto load16_bf16 = [](const uint16_t* p) {
  return _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
};

template <class T, class Load>
float dot_float_row(const T* a, const float* b, int64_t n, Load load) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_fmadd_ps(load(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(load(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(load(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(load(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
  }
  for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(load(a + i), _mm512_loadu_ps(b + i), acc0);
  if (i < n) {
    T ta[16] = {};
    float tb[16] = {};
    std::memcpy(ta, a + i, static_cast<size_t>(n - i) * sizeof(T));
    std::memcpy(tb, b + i, static_cast<size_t>(n - i) * sizeof(float));
    acc1 = _mm512_fmadd_ps(load(ta), _mm512_loadu_ps(tb), acc1);
  }
  return hsum(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

float dot_f32(const void* w, const void* x, int64_t n) {
  return dot_float_row(static_cast<const float*>(w), static_cast<const float*>(x), n, load16_f32);
}
float dot_f16(const void* w, const void* x, int64_t n) {
  return dot_float_row(static_cast<const uint16_t*>(w), static_cast<const float*>(x), n, load16_f16);
}
float dot_bf16(const void* w, const void* x, int64_t n) {
  return dot_float_row(static_cast<const uint16_t*>(w), static_cast<const float*>(x), n, load16_bf16);
}

// --- legacy 32-value blocks, one per 256-bit vector: `ints(block, qx)` gives the 8 int32
// partial sums of q * qx (vpdpbusd), `min(block)` the format's min (0 without one).
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
inline __m256i dot_u8s8(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }

// Q8_0: |w| against qx with w's sign (activations are within +-127, so the sign moves no -128).
float dot_q8_0(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ8_0>(w, x, n, [](const BlockQ8_0& blk, __m256i qx) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs));
    return dot_u8s8(_mm256_sign_epi8(q, q), _mm256_sign_epi8(qx, q));
  }, kNoMin);
}
// Q4_0 and Q5_0 as unsigned levels with a min of -8d (-16d), as in the AVX2 set.
float dot_q4_0(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ4_0>(w, x, n, [](const BlockQ4_0& blk, __m256i qx) { return dot_u8s8(nibbles32(blk.qs), qx); },
                               [](const BlockQ4_0& blk) { return -8.0f * half(blk.d); });
}
float dot_q4_1(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ4_1>(w, x, n, [](const BlockQ4_1& blk, __m256i qx) { return dot_u8s8(nibbles32(blk.qs), qx); },
                               kMin);
}
float dot_q5_0(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ5_0>(w, x, n, [](const BlockQ5_0& blk, __m256i qx) {
    return dot_u8s8(_mm256_or_si256(nibbles32(blk.qs), bit5_bytes(blk.qh)), qx);
  }, [](const BlockQ5_0& blk) { return -16.0f * half(blk.d); });
}
float dot_q5_1(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ5_1>(w, x, n, [](const BlockQ5_1& blk, __m256i qx) {
    return dot_u8s8(_mm256_or_si256(nibbles32(blk.qs), bit5_bytes(blk.qh)), qx);
  }, kMin);
}

// --- K formats: 64 values per 512-bit vector, products in int16 pairs (vpmaddubsw), scaled and
// summed into int32 by vpdpwssd with the sub-block scales spread over the lanes (vpermw).

// The 8 six-bit scales (bytes 0..7) and mins (bytes 8..15) of a Q4_K / Q5_K block.
inline __m128i k4_scales_mins(const uint8_t* s) {
  uint32_t w[3];
  std::memcpy(w, s, 12);
  constexpr uint32_t kLow6 = 0x3f3f3f3f, kLow4 = 0x0f0f0f0f, kTop2 = 0x03030303;
  const uint32_t sc_lo = w[0] & kLow6, m_lo = w[1] & kLow6;
  const uint32_t sc_hi = (w[2] & kLow4) | (((w[0] >> 6) & kTop2) << 4);
  const uint32_t m_hi = ((w[2] >> 4) & kLow4) | (((w[1] >> 6) & kTop2) << 4);
  return _mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi), static_cast<int>(m_lo), static_cast<int>(m_hi));
}

// Chunk c (64 values) of a Q4_K / Q5_K block: the low nibbles of its 32 bytes are values 0..31,
// the high ones 32..63; kFifthBit: Q5_K's qh bits 2c and 2c+1 add 16.
template <bool kFifthBit>
inline __m512i k4_chunk(const uint8_t* qs, __m512i hbits, int c) {
  __m512i v = _mm512_and_si512(_mm512_srlv_epi16(both_halves(qs + 32 * c), halves16(0, 4)), _mm512_set1_epi8(0x0F));
  if constexpr (kFifthBit) {
    const __m512i bit = _mm512_and_si512(_mm512_srlv_epi16(hbits, halves16(static_cast<short>(2 * c), static_cast<short>(2 * c + 1))),
                                         _mm512_set1_epi8(1));
    v = _mm512_or_si512(v, _mm512_slli_epi16(bit, 4));
  }
  return v;
}

template <class Block, bool kFifthBit>
float dot_k4(const void* w, const void* x, int64_t n) {
  const auto* b = static_cast<const Block*>(w);
  const auto* a = static_cast<const ActQ8_K*>(x);
  __m512 acc = _mm512_setzero_ps();
  __m128 acc_min = _mm_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    const __m128i scales_mins = k4_scales_mins(b[i].scales);
    const float dx = a[i].d;
    const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].bsums));
    const __m128i sums32 = _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
    const __m128i mins = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_srli_si128(scales_mins, 8)), sums32);
    acc_min = _mm_fmadd_ps(_mm_set1_ps(half(b[i].dmin) * dx), _mm_cvtepi32_ps(mins), acc_min);
    const __m512i scales = _mm512_castsi128_si512(_mm_cvtepu8_epi16(scales_mins));
    __m512i hbits = _mm512_setzero_si512();
    if constexpr (kFifthBit) hbits = both_halves(b[i].qh);
    __m512i sumi = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const __m512i scale = _mm512_permutexvar_epi16(halves16(static_cast<short>(2 * c), static_cast<short>(2 * c + 1)), scales);
      const __m512i qx = _mm512_loadu_si512(a[i].qs + 64 * c);
      sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(k4_chunk<kFifthBit>(b[i].qs, hbits, c), qx), scale);
    }
    acc = _mm512_fmadd_ps(_mm512_set1_ps(half(b[i].d) * dx), _mm512_cvtepi32_ps(sumi), acc);
  }
  __m128 m = _mm_add_ps(acc_min, _mm_movehl_ps(acc_min, acc_min));
  m = _mm_add_ss(m, _mm_movehdup_ps(m));
  return hsum(acc) - _mm_cvtss_f32(m);
}

float dot_q4_k(const void* w, const void* x, int64_t n) { return dot_k4<BlockQ4_K, false>(w, x, n); }
float dot_q5_k(const void* w, const void* x, int64_t n) { return dot_k4<BlockQ5_K, true>(w, x, n); }

// Values 128h .. 128h+127 of a Q6_K block (0..63) as two vectors of 64, in value order.
inline void q6_half(const BlockQ6_K& b, int h, __m512i* lo, __m512i* hi) {
  const __m512i low4 = _mm512_set1_epi8(0x0F), three = _mm512_set1_epi8(3);
  const __m512i ql = _mm512_loadu_si512(b.ql + 64 * h);  // ql0 | ql1
  const __m512i qh = both_halves(b.qh + 32 * h);
  *lo = _mm512_or_si512(_mm512_and_si512(ql, low4),
                        _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, halves16(0, 2)), three), 4));
  *hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                        _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, halves16(4, 6)), three), 4));
}

// Q6_K: unsigned values 0..63 against the activations; the -32 offset comes off through the
// activation sums (32 * sum_j scale[j] * bsums[j]). Each int16 lane pair of a 64-value vector
// takes the scale of its 16 values by a permute of the 16 scales.
float dot_q6_k(const void* w, const void* x, int64_t n) {
  const auto* b = static_cast<const BlockQ6_K*>(w);
  const auto* a = static_cast<const ActQ8_K*>(x);
  __m512i idx[4];  // lane i of vector 2h + part: scale 8h + 4 part + i / 8
  for (int v = 0; v < 4; ++v) {
    alignas(64) int16_t l[32];
    for (int i = 0; i < 32; ++i) l[i] = static_cast<int16_t>(4 * v + i / 8);
    idx[v] = _mm512_load_si512(l);
  }
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[i].scales)));
    const __m256i offset = _mm256_madd_epi16(s16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].bsums)));
    const __m512i scales = _mm512_castsi256_si512(s16);
    __m512i sumi = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offset, 5)), 0);
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      __m512i lo, hi;
      q6_half(b[i], h, &lo, &hi);
      sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(lo, _mm512_loadu_si512(a[i].qs + 128 * h)),
                                 _mm512_permutexvar_epi16(idx[2 * h], scales));
      sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(hi, _mm512_loadu_si512(a[i].qs + 128 * h + 64)),
                                 _mm512_permutexvar_epi16(idx[2 * h + 1], scales));
    }
    acc = _mm512_fmadd_ps(_mm512_set1_ps(half(b[i].d) * a[i].d), _mm512_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc);
}

// --- prefill tiles: 16 tokens per vector (two groups of 8 side by side), 4 weight bytes of a row
// broadcast to all of them, vpdpbusd. R rows x P vectors of tokens per pass, so each broadcast
// serves P products and each token vector R. A last odd group fills both halves and only its
// own 8 outputs are stored.

// Rows 0..7 of 8 tokens' sums (row r's at in + r * in_stride, token t in lane t) to the tokens'
// outputs (8 floats at out + t * out_stride): an 8x8 transpose in registers.
inline void store_transposed8(const float* in, int64_t in_stride, float* out, int64_t out_stride) {
  __m256 v[8], t[8];
  for (int r = 0; r < 8; ++r) v[r] = _mm256_loadu_ps(in + r * in_stride);
  for (int r = 0; r < 8; r += 2) t[r] = _mm256_unpacklo_ps(v[r], v[r + 1]), t[r + 1] = _mm256_unpackhi_ps(v[r], v[r + 1]);
  for (int q = 0; q < 8; q += 4) {  // rows q..q+3: lanes (q, q+1, q+2, q+3) per token pair
    v[q] = _mm256_shuffle_ps(t[q], t[q + 2], 0x44), v[q + 1] = _mm256_shuffle_ps(t[q], t[q + 2], 0xEE);
    v[q + 2] = _mm256_shuffle_ps(t[q + 1], t[q + 3], 0x44), v[q + 3] = _mm256_shuffle_ps(t[q + 1], t[q + 3], 0xEE);
  }
  for (int k = 0; k < 4; ++k) {
    _mm256_storeu_ps(out + k * out_stride, _mm256_permute2f128_ps(v[k], v[k + 4], 0x20));
    _mm256_storeu_ps(out + (k + 4) * out_stride, _mm256_permute2f128_ps(v[k], v[k + 4], 0x31));
  }
}

// Columns r0 .. r0 + R - 1 of y from sums laid out [r][pair][16 tokens] (`pairs` pairs per row,
// P of them here, from group g0), token by token: y's rows are far apart (a matrix row of
// floats), and single scattered floats cost a tenth of the tile's time; with 8 rows each token
// takes one 8-float store, transposed in registers.
template <int R, int P>
void store_tile(const float* sums, int pairs, float* y, int64_t y_stride, int g0, int n_groups, int r0) {
  for (int p = 0; p < P; ++p) {
    const int g = g0 + 2 * p, tokens = g + 1 < n_groups ? 16 : 8;
    float* out = y + 8 * static_cast<int64_t>(g) * y_stride + r0;
    if constexpr (R == 8) {
      for (int h = 0; h < tokens; h += 8) store_transposed8(sums + 16 * p + h, 16 * pairs, out + h * y_stride, y_stride);
    } else {
      for (int t = 0; t < tokens; ++t)
        for (int r = 0; r < R; ++r) out[t * y_stride + r] = sums[16 * pairs * r + 16 * p + t];
    }
  }
}

// Prefetches the weights of the rows after the ones in work, a few lines per block of the pass
// (they come from memory, and a row prepared on a miss waits for it; all at once would stall on
// the line-fill buffers).
struct Ahead {
  const char* p = nullptr;
  const char* end = nullptr;
  int64_t lines = 0;  // per step
  void step() {
    for (int64_t i = 0; i < lines && p < end; ++i, p += 64) _mm_prefetch(p, _MM_HINT_T0);
  }
};

// Runs pass<R, P>(i0, r0, g0, ahead) over nr rows (prepared kRows at a time by prepare(i, r))
// and n_groups groups (2 * kPairs at a time); each pass calls ahead.step() once per block
// (`steps` blocks), which prefetches the next kRows rows of w (stride apart; past nr too: most
// often the chunk this thread takes next).
template <int kRows, int kPairs, class Prepare, class Run>
void tile_loop(const void* w, size_t stride, int64_t steps, int nr, int n_groups, Prepare prepare, Run run) {
  for (int r0 = 0; r0 < nr; r0 += kRows) {
    const int rn = nr - r0 < kRows ? nr - r0 : kRows;
    for (int i = 0; i < rn; ++i) prepare(i, r0 + i);
    const char* next = static_cast<const char*>(w) + (r0 + kRows) * stride;
    Ahead ahead{next, next + kRows * stride, static_cast<int64_t>(kRows * stride / 64 / steps + 1)};
    for (int g0 = 0; g0 < n_groups; g0 += 2 * kPairs) {
      const int left = n_groups - g0 < 2 * kPairs ? n_groups - g0 : 2 * kPairs;
      const int pairs = (left + 1) / 2;
      auto rows = [&]<int P>() {
        if (rn == kRows) run.template operator()<kRows, P>(0, r0, g0, ahead);
        else
          for (int i = 0; i < rn; ++i) run.template operator()<1, P>(i, r0 + i, g0, ahead);
      };
      if constexpr (kPairs >= 4) if (pairs == 4) { rows.template operator()<4>(); continue; }
      if constexpr (kPairs >= 3) if (pairs == 3) { rows.template operator()<3>(); continue; }
      if constexpr (kPairs >= 2) if (pairs == 2) { rows.template operator()<2>(); continue; }
      rows.template operator()<1>();
    }
  }
}

// The two groups of pair p of a pass starting at group g0 (the second repeats the first when
// there is no second).
template <class T>
inline void pair_groups(const T* x, int64_t per_group, int g0, int p, int n_groups, const T** lo, const T** hi) {
  const int g = g0 + 2 * p;
  *lo = x + g * per_group;
  *hi = x + (g + 1 < n_groups ? g + 1 : g) * per_group;
}

// Legacy formats (Q8_0, Q4_0): row values as unsigned bytes (Q8_0: w + 128; Q4_0: the nibbles),
// so the products need no sign fix-ups; the offset (128 resp. 8 times the token's block sum) is
// where each block's int32 sums start.
// The rows of a pass are unpacked 8 to a 256-byte block: row r's value bytes 4j..4j+3 of block b
// lie at wq + 256 * b + kRowBytes * r + kWordBytes * j, its scale at wd[8 * b + r]. Rows one after
// another within the block (32, 4), or the words of the rows interleaved (4, 32: as the rows8
// re-layout has them). One base pointer and constant offsets (with a pointer per row, GCC ran
// short of general registers and parked the row pointers in vector ones).
template <int R, int P, int kShift, int kRowBytes, int kWordBytes>
void tile_pass_q(const uint8_t* wq, const float* wd, const ActQ8_0x8* x, int64_t nb, int g0, int n_groups, float* y,
                 int64_t y_stride, int r0, float* accm, Ahead& ahead) {
  const ActQ8_0x8 *xa[P], *xb[P];
  for (int p = 0; p < P; ++p) pair_groups(x, nb, g0, p, n_groups, &xa[p], &xb[p]);
  // The float sums live in accm (touched once per block): the registers go to the int32 sums.
  for (int i = 0; i < R * P; ++i) _mm512_store_ps(accm + 16 * i, _mm512_setzero_ps());
  for (int64_t b = 0; b < nb; ++b) {
    ahead.step();
    // accm's address hidden from GCC per block: it otherwise kept the float sums in registers
    // across the loop, leaving too few for the int32 sums (spilled around every vpdpbusd).
    float* acc = accm;
    pin_address(acc);
    const uint8_t* blk = wq + 256 * b;
    __m512i sum[R][P];
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      const __m512i off = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(pair_i(xa[p][b].sum, xb[p][b].sum), kShift));
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) sum[r][p] = off;
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      __m512i xv[P];
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) xv[p] = pair_i(xa[p][b].qs + 32 * j, xb[p][b].qs + 32 * j);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m512i wb = _mm512_set1_epi32(word_at(blk + kRowBytes * r + kWordBytes * j));
#pragma GCC unroll 4
        for (int p = 0; p < P; ++p) {
          sum[r][p] = _mm512_dpbusd_epi32(sum[r][p], wb, xv[p]);
          pin(sum[r][p]);
        }
      }
    }
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      const __m512 dx = pair_f(xa[p][b].d, xb[p][b].d);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        float* a = acc + 16 * (P * r + p);
        _mm512_store_ps(a, _mm512_fmadd_ps(_mm512_mul_ps(dx, _mm512_set1_ps(wd[8 * b + r])), _mm512_cvtepi32_ps(sum[r][p]),
                                           _mm512_load_ps(a)));
      }
    }
  }
  store_tile<R, P>(accm, P, y, y_stride, g0, n_groups, r0);
}

// Scratch (64-byte aligned): the float sums of a pass, then kLegacyRows rows of n value bytes,
// then their n / 32 float scales each.
constexpr int kLegacyRows = 8;

// kGroups: rows unpacked 8 at a time with their words interleaved (the rows8 re-layout); otherwise
// row by row. unpack(i, r, values, scales) unpacks row r into slot i: block b's 32 bytes at values
// + 256 * b (+ 32 * i, done here), its scale at scales[8 * b] (+ i). With kGroups, the whole group
// of rows r..r+7 when i is 0 (row i's word j of block b at values + 256 * b + 32 * j + 4 * i, its
// scale at scales[8 * b + i]), nothing otherwise.
template <int kShift, bool kGroups, class Unpack>
void tile_legacy(const void* w, size_t w_stride, int nr, const void* xv, int n_groups, int64_t n, float* y,
                 int64_t y_stride, void* scratch, Unpack unpack) {
  const auto* x = static_cast<const ActQ8_0x8*>(xv);
  const int64_t nb = n / 32;
  auto* accm = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(scratch) + 63) & ~uintptr_t{63});
  auto* values = reinterpret_cast<uint8_t*>(accm + 16 * kLegacyRows * 2);
  auto* scales = reinterpret_cast<float*>(values + kLegacyRows * n);
  constexpr int kRowBytes = kGroups ? 4 : 32, kWordBytes = kGroups ? 32 : 4;
  tile_loop<kLegacyRows, 2>(
      w, w_stride, nb, nr, n_groups,
      [&](int i, int r) { unpack(i, r, values + (kGroups ? 0 : kRowBytes * i), scales + (kGroups ? 0 : i)); },
      [&]<int R, int P>(int i0, int r0, int g0, Ahead& ahead) {
        tile_pass_q<R, P, kShift, kRowBytes, kWordBytes>(values + kRowBytes * i0, scales + i0, x, nb, g0, n_groups, y,
                                                         y_stride, r0, accm, ahead);
      });
}

void tile_q8_0(const void* w, size_t w_stride, int nr, const void* x, int n_groups, int64_t n, float* y,
               int64_t y_stride, void* scratch) {
  const auto* base = static_cast<const uint8_t*>(w);
  tile_legacy<7, false>(w, w_stride, nr, x, n_groups, n, y, y_stride, scratch,
                        [&](int, int r, uint8_t* values, float* scales) {
    const auto* b = reinterpret_cast<const BlockQ8_0*>(base + r * w_stride);
    for (int64_t i = 0; i < n / 32; ++i) {
      scales[8 * i] = half(b[i].d);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(values + 256 * i),
                          _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs)), _mm256_set1_epi8(-128)));
    }
  });
}

void tile_q4_0(const void* w, size_t w_stride, int nr, const void* x, int n_groups, int64_t n, float* y,
               int64_t y_stride, void* scratch) {
  const auto* base = static_cast<const uint8_t*>(w);
  tile_legacy<3, false>(w, w_stride, nr, x, n_groups, n, y, y_stride, scratch,
                        [&](int, int r, uint8_t* values, float* scales) {
    const auto* b = reinterpret_cast<const BlockQ4_0*>(base + r * w_stride);
    for (int64_t i = 0; i < n / 32; ++i) {
      scales[8 * i] = half(b[i].d);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(values + 256 * i), nibbles32(b[i].qs));
    }
  });
}

// Q4_0 in the rows8 re-layout (core/repack.h; w is the first row's group, nr a multiple of 8): each
// group is unpacked once per call, 8 rows per vector op, into bytes [block][word j][row] and scales
// [block][row], which tile_pass_q reads with those strides.
void tile_q4_0_rows8(const void* w, size_t w_stride, int nr, const void* x, int n_groups, int64_t n, float* y,
                     int64_t y_stride, void* scratch) {
  const auto* base = static_cast<const uint8_t*>(w);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  tile_legacy<3, true>(w, w_stride, nr, x, n_groups, n, y, y_stride, scratch,
                       [&](int i, int r, uint8_t* values, float* scales) {
    if (i != 0) return;  // the whole group with its first row
    const uint8_t* group = base + r * w_stride;  // 8 rows of w_stride bytes = one group
    for (int64_t b = 0; b < n / 32; ++b) {
      const uint8_t* blk = group + b * 144;
      _mm256_storeu_ps(scales + 8 * b, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk))));
      for (int j = 0; j < 4; ++j) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * j));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(values + 256 * b + 32 * j), _mm256_and_si256(v, low4));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(values + 256 * b + 32 * (j + 4)),
                            _mm256_and_si256(_mm256_srli_epi16(v, 4), low4));
      }
    }
  });
}

// --- K-format tiles. A row is unpacked once per call into bytes and float sub-block scales
// (d * scale); each sub-block's int32 sums (vpdpbusd, exact) are scaled in float, each block's by
// the tokens' d. Q4_K: values 0..15 against the activations, the mins through the tokens'
// sub-block sums (int16 pairs, one madd each). Q6_K: values q - 32 (signed) against activations
// made unsigned (x + 128); the 128 * sum(q - 32) of each 16 values, a property of the row, is
// where its sums start.
struct KRow {
  uint8_t* q;          // n values
  float* scale;        // per sub-block: d * scale (8 per block for Q4_K, 16 for Q6_K)
  float* dmin;         // Q4_K, per block
  int32_t* min_pairs;  // Q4_K, per block: 4 words m[2p] | m[2p + 1] << 16
  int32_t* start;      // Q6_K, per 16 values: -128 * sum(q - 32)
};
constexpr int64_t kKRowMeta = 160;  // scratch bytes per row and block besides the values

// The float sums live in scratch (accm: per block, accb: per sub-block), touched once per
// sub-block: the registers go to R x P int32 sums, enough independent chains of vpdpbusd.
template <int R, int P, bool kQ6>
void tile_pass_k(const KRow* w, const ActQ8_Kx8* x, int64_t nb, int g0, int n_groups, float* y, int64_t y_stride, int r0,
                 float* accm, Ahead& ahead) {
  constexpr int kSub = kQ6 ? 16 : 8, kWords = kQ6 ? 4 : 8;
  const ActQ8_Kx8 *xa[P], *xb[P];
  for (int p = 0; p < P; ++p) pair_groups(x, nb, g0, p, n_groups, &xa[p], &xb[p]);
  float* accb = accm + 16 * R * P;
  const __m512i flip = _mm512_set1_epi8(-128);
  for (int i = 0; i < R * P; ++i) _mm512_store_ps(accm + 16 * i, _mm512_setzero_ps());
  for (int64_t b = 0; b < nb; ++b) {
    ahead.step();
    for (int i = 0; i < R * P; ++i) _mm512_store_ps(accb + 16 * i, _mm512_setzero_ps());
    for (int s = 0; s < kSub; ++s) {
      __m512i sum[R][P];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m512i start = kQ6 ? _mm512_set1_epi32(w[r].start[kSub * b + s]) : _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int p = 0; p < P; ++p) sum[r][p] = start;
      }
#pragma GCC unroll 8
      for (int j = 0; j < kWords; ++j) {
        const int64_t v = 4 * kWords * s + 4 * j;  // value in the block of this word's first byte
        __m512i xv[P];
#pragma GCC unroll 4
        for (int p = 0; p < P; ++p) {
          xv[p] = pair_i(xa[p][b].qs + 8 * v, xb[p][b].qs + 8 * v);
          if constexpr (kQ6) xv[p] = _mm512_xor_si512(xv[p], flip);
        }
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const __m512i wb = _mm512_set1_epi32(word_at(w[r].q + 256 * b + v));
#pragma GCC unroll 4
          for (int p = 0; p < P; ++p) {
            if constexpr (kQ6) sum[r][p] = _mm512_dpbusd_epi32(sum[r][p], xv[p], wb);
            else sum[r][p] = _mm512_dpbusd_epi32(sum[r][p], wb, xv[p]);
          }
        }
      }
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m512 scale = _mm512_set1_ps(w[r].scale[kSub * b + s]);
#pragma GCC unroll 4
        for (int p = 0; p < P; ++p) {
          float* a = accb + 16 * (P * r + p);
          _mm512_store_ps(a, _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[r][p]), scale, _mm512_load_ps(a)));
        }
      }
    }
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      const __m512 dx = pair_f(xa[p][b].d, xb[p][b].d);
      __m512i msums[4];
      if constexpr (!kQ6)
        for (int q = 0; q < 4; ++q) msums[q] = pair_i(xa[p][b].msums[q], xb[p][b].msums[q]);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        float* a = accm + 16 * (P * r + p);
        __m512 acc = _mm512_fmadd_ps(_mm512_load_ps(accb + 16 * (P * r + p)), dx, _mm512_load_ps(a));
        if constexpr (!kQ6) {
          __m512i msum = _mm512_setzero_si512();
#pragma GCC unroll 4
          for (int q = 0; q < 4; ++q)
            msum = _mm512_add_epi32(msum, _mm512_madd_epi16(msums[q], _mm512_set1_epi32(w[r].min_pairs[4 * b + q])));
          acc = _mm512_fnmadd_ps(_mm512_mul_ps(dx, _mm512_set1_ps(w[r].dmin[b])), _mm512_cvtepi32_ps(msum), acc);
        }
        _mm512_store_ps(a, acc);
      }
    }
  }
  store_tile<R, P>(accm, P, y, y_stride, g0, n_groups, r0);
}

// Scratch (64-byte aligned): the float sums of a pass (2 x kKRows x 2 x 16), kKRows rows of n
// values, then per row and block kKRowMeta bytes: 16 scales, dmin, 4 min pairs, 16 starts
// (8n + 8 * 160n/256 + 2 KiB: inside tile_scratch_bytes).
constexpr int kKRows = 8;

template <bool kQ6, class Unpack>
void tile_k(const void* w, size_t w_stride, int nr, const void* xv, int n_groups, int64_t n, float* y,
            int64_t y_stride, void* scratch, Unpack unpack) {
  const auto* x = static_cast<const ActQ8_Kx8*>(xv);
  const int64_t nb = n / 256;
  auto* accm = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(scratch) + 63) & ~uintptr_t{63});
  auto* bytes = reinterpret_cast<uint8_t*>(accm + 2 * kKRows * 2 * 16);
  KRow rows[kKRows];
  for (int i = 0; i < kKRows; ++i) {
    auto* meta = reinterpret_cast<float*>(bytes + kKRows * n + i * nb * kKRowMeta);
    rows[i] = {bytes + i * n, meta, meta + 16 * nb, reinterpret_cast<int32_t*>(meta + 17 * nb),
               reinterpret_cast<int32_t*>(meta + 21 * nb)};
  }
  tile_loop<kKRows, 2>(w, w_stride, nb, nr, n_groups, [&](int i, int r) { unpack(r, rows[i]); },
                       [&]<int R, int P>(int i0, int r0, int g0, Ahead& ahead) {
                         tile_pass_k<R, P, kQ6>(rows + i0, x, nb, g0, n_groups, y, y_stride, r0, accm, ahead);
                       });
}

void tile_q4_k(const void* w, size_t w_stride, int nr, const void* x, int n_groups, int64_t n, float* y,
               int64_t y_stride, void* scratch) {
  const auto* base = static_cast<const uint8_t*>(w);
  tile_k<false>(w, w_stride, nr, x, n_groups, n, y, y_stride, scratch, [&](int r, KRow& row) {
    const auto* b = reinterpret_cast<const BlockQ4_K*>(base + r * w_stride);
    for (int64_t i = 0; i < n / 256; ++i) {
      alignas(16) uint8_t sm[16];  // scales, then mins
      _mm_store_si128(reinterpret_cast<__m128i*>(sm), k4_scales_mins(b[i].scales));
      const float d = half(b[i].d);
      for (int j = 0; j < 8; ++j) row.scale[8 * i + j] = d * static_cast<float>(sm[j]);
      for (int p = 0; p < 4; ++p) row.min_pairs[4 * i + p] = sm[8 + 2 * p] | (sm[9 + 2 * p] << 16);
      row.dmin[i] = half(b[i].dmin);
      for (int c = 0; c < 4; ++c)
        _mm512_storeu_si512(row.q + 256 * i + 64 * c, k4_chunk<false>(b[i].qs, _mm512_setzero_si512(), c));
    }
  });
}

void tile_q6_k(const void* w, size_t w_stride, int nr, const void* x, int n_groups, int64_t n, float* y,
               int64_t y_stride, void* scratch) {
  const auto* base = static_cast<const uint8_t*>(w);
  tile_k<true>(w, w_stride, nr, x, n_groups, n, y, y_stride, scratch, [&](int r, KRow& row) {
    const auto* b = reinterpret_cast<const BlockQ6_K*>(base + r * w_stride);
    for (int64_t i = 0; i < n / 256; ++i) {
      const float d = half(b[i].d);
      for (int j = 0; j < 16; ++j) row.scale[16 * i + j] = d * static_cast<float>(b[i].scales[j]);
      for (int h = 0; h < 2; ++h) {
        __m512i v[2];
        q6_half(b[i], h, &v[0], &v[1]);
        for (int k = 0; k < 2; ++k) {
          const __m512i q = _mm512_sub_epi8(v[k], _mm512_set1_epi8(32));
          _mm512_storeu_si512(row.q + 256 * i + 128 * h + 64 * k, q);
          // Sums of each 16 values: bytes to int16 pairs (times 1), pairs to int32 (8 per 16 values).
          const __m512i pairs = _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_set1_epi8(1), q), _mm512_set1_epi16(1));
          alignas(64) int32_t quads[16];
          _mm512_store_si512(quads, pairs);
          for (int s = 0; s < 4; ++s)
            row.start[16 * i + 8 * h + 4 * k + s] =
                -128 * (quads[4 * s] + quads[4 * s + 1] + quads[4 * s + 2] + quads[4 * s + 3]);
        }
      }
    }
  });
}

// --- float tiles (F16, BF16 weights; float activations interleaved [k][8 tokens]). The work goes
// in chunks of kFloatChunk values of k: the chunk's activations of up to 8 groups are copied into
// scratch as pairs of groups ([pair][k][16 tokens]: one aligned load per vector, no insert, no
// 4 KiB aliasing between groups 8n floats apart), the rows (up to kFloatRows) widened to floats
// kWiden values at a time; then each weight value is broadcast against 16 tokens of P vectors,
// R x P independent FMAs (R = 16 / P rows: one load for each FMA or fewer), the sums kept in
// scratch from chunk to chunk. matmul gives these tiles 64 rows: the copy serves them all.
constexpr int64_t kFloatChunk = 32;
constexpr int kFloatRows = 64;
constexpr int64_t kWiden = 256;  // values of each row widened at a time (a multiple of kFloatChunk)

template <int R, int P>
void tile_pass_float(const float* w, const float* xs, int64_t kc, float* sums) {
  __m512 acc[R][P];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) acc[r][p] = _mm512_load_ps(sums + 16 * (4 * r + p));
  for (int64_t k = 0; k < kc; ++k) {
    __m512 xv[P];
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) xv[p] = _mm512_load_ps(xs + 16 * (p * kFloatChunk + k));
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512 wb = _mm512_set1_ps(w[r * kWiden + k]);
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) acc[r][p] = _mm512_fmadd_ps(wb, xv[p], acc[r][p]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) _mm512_store_ps(sums + 16 * (4 * r + p), acc[r][p]);
}

// The rn rows of a chunk, kR at a time while they last, then one by one; ahead.step() fetches a
// few lines of the weights to come after each pass.
template <int kR, int P, class Fetch>
void float_rows(const float* ws, const float* xs, int64_t kc, float* sums, int rn, Fetch& ahead) {
  int r = 0;
  for (; r + kR <= rn; r += kR) {
    tile_pass_float<kR, P>(ws + r * kWiden, xs, kc, sums + r * 64);
    ahead.step(kR);
  }
  for (; r + 4 <= rn; r += 4) tile_pass_float<4, P>(ws + r * kWiden, xs, kc, sums + r * 64);
  for (; r < rn; ++r) tile_pass_float<1, P>(ws + r * kWiden, xs, kc, sums + r * 64);
}

// Scratch (64-byte aligned): activations 4 x kFloatChunk x 16 floats (8 KiB), sums kFloatRows x
// 4 x 16 (16 KiB), widened weights kFloatRows x kWiden (64 KiB: each row read kWiden values at a
// time, a sequential run of lines: 64 rows a chunk each were too many streams for the prefetchers).

// A float tile's sums (rn rows of 4 x 16 in scratch, for `pairs` pairs of groups) into y.
void store_float_sums(const float* sums, int rn, int pairs, float* y, int64_t y_stride, int g0, int n_groups, int r0) {
  auto store = [&]<int P>() {
    int r = 0;
    for (; r + 8 <= rn; r += 8) store_tile<8, P>(sums + r * 64, 4, y, y_stride, g0, n_groups, r0 + r);
    for (; r < rn; ++r) store_tile<1, P>(sums + r * 64, 4, y, y_stride, g0, n_groups, r0 + r);
  };
  if (pairs == 4) store.template operator()<4>();
  else if (pairs == 3) store.template operator()<3>();
  else if (pairs == 2) store.template operator()<2>();
  else store.template operator()<1>();
}

// The weights the widening after this one reads (the next kWiden values of the chunk's rows, or
// the next chunk's first ones), an eighth per kFloatChunk step of the current stage, a few lines
// between passes (all at once, the prefetches wait on the line-fill buffers), so that the widening
// finds them in cache: 64 rows of 512 bytes are too many short streams for the hardware
// prefetchers, and the widening waited on memory for a fifth of an F16 prefill.
struct StageAhead {
  const uint8_t* row = nullptr;  // the row being fetched
  size_t stride = 0;
  int rows = 0;                  // rows left after this one
  int64_t off = 0, bytes = 0;    // the next line of `row`, the bytes to fetch of each
  StageAhead(const uint8_t* base, size_t w_stride, int nr, int64_t n, int r0, int64_t k0) : stride(w_stride) {
    int64_t k = k0 - k0 % kWiden + kWiden;
    int first = r0;
    if (k >= n) k = 0, first += kFloatRows;
    constexpr int kSteps = kWiden / kFloatChunk, kRowsPerStep = kFloatRows / kSteps;
    first += static_cast<int>(k0 % kWiden / kFloatChunk) * kRowsPerStep;
    const int last = first + kRowsPerStep < nr ? first + kRowsPerStep : nr;
    if (first >= last) return;
    row = base + first * w_stride + 2 * k;
    rows = last - first - 1;
    bytes = 2 * (n - k < kWiden ? n - k : kWiden);
  }
  void step(int lines) {
    for (; lines > 0 && row; --lines) {
      _mm_prefetch(reinterpret_cast<const char*>(row + off), _MM_HINT_T0);
      if ((off += 64) < bytes) continue;
      off = 0;
      row = rows-- > 0 ? row + stride : nullptr;
    }
  }
};

template <class Load>
void tile_float(const void* w, size_t w_stride, int nr, const void* xv, int n_groups, int64_t n, float* y,
                int64_t y_stride, void* scratch, Load load) {
  const auto* base = static_cast<const uint8_t*>(w);
  const auto* x = static_cast<const float*>(xv);
  auto* xs = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(scratch) + 63) & ~uintptr_t{63});
  float* sums = xs + 4 * kFloatChunk * 16;
  float* ws = sums + kFloatRows * 4 * 16;
  for (int r0 = 0; r0 < nr; r0 += kFloatRows) {
    const int rn = nr - r0 < kFloatRows ? nr - r0 : kFloatRows;
    for (int g0 = 0; g0 < n_groups; g0 += 8) {
      const int groups = n_groups - g0 < 8 ? n_groups - g0 : 8, pairs = (groups + 1) / 2;
      const float *xa[4], *xb[4];
      for (int p = 0; p < pairs; ++p) pair_groups(x, 8 * n, g0, p, n_groups, &xa[p], &xb[p]);
      for (int i = 0; i < rn * 4 * 16; ++i) sums[i] = 0.0f;
      for (int64_t k0 = 0; k0 < n; k0 += kFloatChunk) {
        const int64_t kc = n - k0 < kFloatChunk ? n - k0 : kFloatChunk;
        if (k0 % kWiden == 0) {  // the next kWiden values of every row, widened
          const int64_t kw = n - k0 < kWiden ? n - k0 : kWiden;
          for (int r = 0; r < rn; ++r) {
            const auto* h = reinterpret_cast<const uint16_t*>(base + (r0 + r) * w_stride) + k0;
            float* out = ws + r * kWiden;
            int64_t k = 0;
            for (; k + 16 <= kw; k += 16) _mm512_store_ps(out + k, load(h + k));
            if (k < kw) {
              uint16_t t[16] = {};
              alignas(64) float f[16];
              std::memcpy(t, h + k, static_cast<size_t>(kw - k) * 2);
              _mm512_store_ps(f, load(t));
              std::memcpy(out + k, f, static_cast<size_t>(kw - k) * 4);
            }
          }
        }
        for (int p = 0; p < pairs; ++p)
          for (int64_t k = 0; k < kc; ++k)
            _mm512_store_ps(xs + 16 * (p * kFloatChunk + k), pair_f(xa[p] + 8 * (k0 + k), xb[p] + 8 * (k0 + k)));
        StageAhead ahead(base, w_stride, nr, n, r0, k0);
        const float* wk = ws + k0 % kWiden;
        if (pairs == 4) float_rows<4, 4>(wk, xs, kc, sums, rn, ahead);
        else if (pairs == 3) float_rows<4, 3>(wk, xs, kc, sums, rn, ahead);
        else if (pairs == 2) float_rows<8, 2>(wk, xs, kc, sums, rn, ahead);
        else float_rows<16, 1>(wk, xs, kc, sums, rn, ahead);
      }
      store_float_sums(sums, rn, pairs, y, y_stride, g0, n_groups, r0);
    }
  }
}

void tile_f16(const void* w, size_t w_stride, int nr, const void* x, int n_groups, int64_t n, float* y,
              int64_t y_stride, void* scratch) {
  tile_float(w, w_stride, nr, x, n_groups, n, y, y_stride, scratch, load16_f16);
}
void tile_bf16(const void* w, size_t w_stride, int nr, const void* x, int n_groups, int64_t n, float* y,
               int64_t y_stride, void* scratch) {
  tile_float(w, w_stride, nr, x, n_groups, n, y, y_stride, scratch, load16_bf16);
}

// --- BF16 tiles with vdpbf16ps (AVX512_BF16; bench/avx512_bf16_dot.cpp: 2.2x the widen-and-FMA
// rate on a row in cache, slower on one streamed from memory, so decode keeps dot_bf16). Each 32-bit
// lane holds two consecutive values of k: a row's pair (w[k], w[k+1]) is one broadcast word as it
// lies in memory, the activations are rounded to bf16 pairs per token ([pair][k/2][16 tokens]) —
// as llama.cpp does for BF16 weights, so the sums are those of bf16 activations (kernels_test
// checks them against exactly that). Rows are staged raw, kWiden values at a time, like tile_float.
#if defined(CITADEL_AVX512_EMULATED)
#define CITADEL_BF16_TARGET
#else
#define CITADEL_BF16_TARGET __attribute__((target("avx512bf16")))
#endif

inline __m512bh as_bh(__m512i v) {
  __m512bh r;
  std::memcpy(&r, &v, sizeof r);
  return r;
}

// Two float vectors (values k and k+1 of 16 tokens) rounded to bf16 (nearest even) and packed as
// 16 lanes of (k low, k+1 high).
inline __m512i bf16_pairs(__m512 k0, __m512 k1) {
  const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7FFF);
  const __m512i u0 = _mm512_castps_si512(k0), u1 = _mm512_castps_si512(k1);
  const __m512i r0 = _mm512_add_epi32(u0, _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(u0, 16), one)));
  const __m512i r1 = _mm512_add_epi32(u1, _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(u1, 16), one)));
  return _mm512_or_si512(_mm512_srli_epi32(r0, 16), _mm512_and_si512(r1, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
}

template <int R, int P>
CITADEL_BF16_TARGET void tile_pass_bf16(const uint16_t* w, const uint32_t* xs, int64_t kpc, float* sums) {
  __m512 acc[R][P];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) acc[r][p] = _mm512_load_ps(sums + 16 * (4 * r + p));
  for (int64_t kp = 0; kp < kpc; ++kp) {
    __m512bh xv[P];
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) xv[p] = as_bh(_mm512_load_si512(xs + 16 * (p * (kFloatChunk / 2) + kp)));
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      uint32_t pair;
      std::memcpy(&pair, w + r * kWiden + 2 * kp, 4);
      const __m512bh wb = as_bh(_mm512_set1_epi32(static_cast<int>(pair)));
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) acc[r][p] = _mm512_dpbf16_ps(acc[r][p], wb, xv[p]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) _mm512_store_ps(sums + 16 * (4 * r + p), acc[r][p]);
}

template <int kR, int P>
CITADEL_BF16_TARGET void bf16_rows(const uint16_t* ws, const uint32_t* xs, int64_t kpc, float* sums, int rn) {
  int r = 0;
  for (; r + kR <= rn; r += kR) tile_pass_bf16<kR, P>(ws + r * kWiden, xs, kpc, sums + r * 64);
  for (; r + 4 <= rn; r += 4) tile_pass_bf16<4, P>(ws + r * kWiden, xs, kpc, sums + r * 64);
  for (; r < rn; ++r) tile_pass_bf16<1, P>(ws + r * kWiden, xs, kpc, sums + r * 64);
}

// The same scratch layout as tile_float (the staged rows take half its room).
CITADEL_BF16_TARGET void tile_bf16_dp(const void* w, size_t w_stride, int nr, const void* xv, int n_groups, int64_t n,
                                      float* y, int64_t y_stride, void* scratch) {
  const auto* base = static_cast<const uint8_t*>(w);
  const auto* x = static_cast<const float*>(xv);
  auto* xs = reinterpret_cast<uint32_t*>((reinterpret_cast<uintptr_t>(scratch) + 63) & ~uintptr_t{63});
  float* sums = reinterpret_cast<float*>(xs) + 4 * kFloatChunk * 16;
  auto* ws = reinterpret_cast<uint16_t*>(sums + kFloatRows * 4 * 16);
  for (int r0 = 0; r0 < nr; r0 += kFloatRows) {
    const int rn = nr - r0 < kFloatRows ? nr - r0 : kFloatRows;
    for (int g0 = 0; g0 < n_groups; g0 += 8) {
      const int groups = n_groups - g0 < 8 ? n_groups - g0 : 8, pairs = (groups + 1) / 2;
      const float *xa[4], *xb[4];
      for (int p = 0; p < pairs; ++p) pair_groups(x, 8 * n, g0, p, n_groups, &xa[p], &xb[p]);
      for (int i = 0; i < rn * 4 * 16; ++i) sums[i] = 0.0f;
      for (int64_t k0 = 0; k0 < n; k0 += kFloatChunk) {
        const int64_t kc = n - k0 < kFloatChunk ? n - k0 : kFloatChunk, kpc = (kc + 1) / 2;
        if (k0 % kWiden == 0) {  // the next kWiden values of every row, an odd end padded with 0
          const int64_t kw = n - k0 < kWiden ? n - k0 : kWiden;
          for (int r = 0; r < rn; ++r) {
            const auto* h = reinterpret_cast<const uint16_t*>(base + (r0 + r) * w_stride) + k0;
            std::memcpy(ws + r * kWiden, h, static_cast<size_t>(kw) * 2);
            if (kw % 2) ws[r * kWiden + kw] = 0;
          }
        }
        const __m512 zero = _mm512_setzero_ps();
        for (int p = 0; p < pairs; ++p)
          for (int64_t kp = 0; kp < kpc; ++kp) {
            const int64_t k = k0 + 2 * kp;
            const __m512 lo = pair_f(xa[p] + 8 * k, xb[p] + 8 * k);
            const __m512 hi = k + 1 < n ? pair_f(xa[p] + 8 * (k + 1), xb[p] + 8 * (k + 1)) : zero;
            _mm512_store_si512(xs + 16 * (p * (kFloatChunk / 2) + kp), bf16_pairs(lo, hi));
          }
        const uint16_t* wk = ws + k0 % kWiden;
        if (pairs == 4) bf16_rows<4, 4>(wk, xs, kpc, sums, rn);
        else if (pairs == 3) bf16_rows<4, 3>(wk, xs, kpc, sums, rn);
        else if (pairs == 2) bf16_rows<8, 2>(wk, xs, kpc, sums, rn);
        else bf16_rows<16, 1>(wk, xs, kpc, sums, rn);
      }
      store_float_sums(sums, rn, pairs, y, y_stride, g0, n_groups, r0);
    }
  }
}

// --- decode over Q4_0 rows interleaved 8 at a time (core/repack.h): rows in the 8 lanes, each
// activation word broadcast, vpdpbusd on the unsigned levels; the -8 offset in float through s.
void dot_q4_0_rows8(const void* group, const void* x, int64_t n, float* out) {
  const auto* g = static_cast<const uint8_t*>(group);
  const auto* a = static_cast<const ActQ8_0*>(x);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b) {
    const uint8_t* blk = g + b * 144;
    __m256i sum = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * j));
      sum = _mm256_dpbusd_epi32(sum, _mm256_and_si256(v, low4), _mm256_set1_epi32(word_at(a[b].qs + 4 * j)));
      sum = _mm256_dpbusd_epi32(sum, _mm256_and_si256(_mm256_srli_epi16(v, 4), low4),
                                _mm256_set1_epi32(word_at(a[b].qs + 16 + 4 * j)));
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)));
    const __m256 xsum = _mm256_fmsub_ps(_mm256_set1_ps(a[b].d), _mm256_cvtepi32_ps(sum), _mm256_set1_ps(8.0f * a[b].s));
    acc = _mm256_fmadd_ps(dw, xsum, acc);
  }
  _mm256_storeu_ps(out, acc);
}

// --- attention helpers over rows of floats.
constexpr auto scalar_f32 = [](float v) { return v; };

template <class T, class Load, class Scalar>
void dot_rows_of(const T* rows, int64_t stride, int n_rows, const float* x, int64_t n, float* out, Load load,
                 Scalar scalar) {
  int i = 0;
  if (n % 16 == 0) {
    for (; i + 4 <= n_rows; i += 4) {  // four rows at once: one horizontal sum for all four
      const T* r = rows + i * stride;
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t j = 0; j < n; j += 16) {
        const __m512 xv = _mm512_loadu_ps(x + j);
        a0 = _mm512_fmadd_ps(load(r + j), xv, a0);
        a1 = _mm512_fmadd_ps(load(r + stride + j), xv, a1);
        a2 = _mm512_fmadd_ps(load(r + 2 * stride + j), xv, a2);
        a3 = _mm512_fmadd_ps(load(r + 3 * stride + j), xv, a3);
      }
      const __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(sum_halves(a0), sum_halves(a1)),
                                      _mm256_hadd_ps(sum_halves(a2), sum_halves(a3)));
      _mm_storeu_ps(out + i, _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1)));
    }
  }
  for (; i < n_rows; ++i) {
    const T* r = rows + i * stride;
    __m512 acc = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) acc = _mm512_fmadd_ps(load(r + j), _mm512_loadu_ps(x + j), acc);
    float sum = hsum(acc);
    for (; j < n; ++j) sum += scalar(r[j]) * x[j];
    out[i] = sum;
  }
}

template <class T, class Load, class Scalar>
void axpy_rows_of(const T* rows, int64_t stride, int n_rows, const float* a, int64_t n, float* y, Load load,
                  Scalar scalar) {
  int64_t j = 0;
  for (; j + 64 <= n; j += 64) {  // four independent chains of FMAs
    __m512 y0 = _mm512_loadu_ps(y + j), y1 = _mm512_loadu_ps(y + j + 16);
    __m512 y2 = _mm512_loadu_ps(y + j + 32), y3 = _mm512_loadu_ps(y + j + 48);
    for (int i = 0; i < n_rows; ++i) {
      const T* r = rows + i * stride + j;
      const __m512 ai = _mm512_set1_ps(a[i]);
      y0 = _mm512_fmadd_ps(ai, load(r), y0);
      y1 = _mm512_fmadd_ps(ai, load(r + 16), y1);
      y2 = _mm512_fmadd_ps(ai, load(r + 32), y2);
      y3 = _mm512_fmadd_ps(ai, load(r + 48), y3);
    }
    _mm512_storeu_ps(y + j, y0);
    _mm512_storeu_ps(y + j + 16, y1);
    _mm512_storeu_ps(y + j + 32, y2);
    _mm512_storeu_ps(y + j + 48, y3);
  }
  for (; j + 16 <= n; j += 16) {
    __m512 acc = _mm512_loadu_ps(y + j);
    for (int i = 0; i < n_rows; ++i) acc = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), load(rows + i * stride + j), acc);
    _mm512_storeu_ps(y + j, acc);
  }
  for (; j < n; ++j)
    for (int i = 0; i < n_rows; ++i) y[j] += a[i] * scalar(rows[i * stride + j]);
}

void dot_rows(const float* rows, int64_t stride, int n_rows, const float* x, int64_t n, float* out) {
  dot_rows_of(rows, stride, n_rows, x, n, out, load16_f32, scalar_f32);
}
void axpy_rows(const float* rows, int64_t stride, int n_rows, const float* a, int64_t n, float* y) {
  axpy_rows_of(rows, stride, n_rows, a, n, y, load16_f32, scalar_f32);
}

// vcvtps2ph rounds to nearest even, as fp32_to_fp16; NaNs are made the canonical quiet NaN as there.
void to_f16(const float* x, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
    const __m256i canonical = _mm256_or_si256(_mm256_and_si256(h, _mm256_set1_epi16(static_cast<short>(0x8000))),
                                              _mm256_set1_epi16(0x7e00));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_mask_blend_epi16(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), h, canonical));
  }
  for (; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, x + i, 4);
    out[i] = x[i] != x[i] ? static_cast<uint16_t>(((bits >> 16) & 0x8000u) | 0x7e00u)
                          : static_cast<uint16_t>(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
  }
}

// exp(x) as in the AVX2 set (same constants and steps, 16 lanes): 2^k * p(r), k = round(x / ln 2),
// r = x - k ln 2 in two steps, p the degree-6 Taylor polynomial; inputs clamped to [-87, 88];
// x goes second into max/min so a NaN stays NaN.
inline __m512 exp_clamped(__m512 x) {
  x = _mm512_min_ps(_mm512_set1_ps(88.0f), _mm512_max_ps(_mm512_set1_ps(-87.0f), x));
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  const __m512i two_k = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(two_k));
}

void silu_mul(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 g = _mm512_loadu_ps(gate + i);
    const __m512 silu = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), exp_clamped(_mm512_sub_ps(_mm512_setzero_ps(), g))));
    _mm512_storeu_ps(gate + i, _mm512_mul_ps(silu, _mm512_loadu_ps(up + i)));
  }
  for (; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

float exp_sum(float* x, int64_t n, float max) {
  const __m512 m = _mm512_set1_ps(max);
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 e = exp_clamped(_mm512_sub_ps(_mm512_loadu_ps(x + i), m));
    _mm512_storeu_ps(x + i, e);
    acc = _mm512_add_ps(acc, e);
  }
  if (i < n) {  // the tail through the same formula, so a value does not depend on its position
    alignas(64) float tail[16];
    const int rest = static_cast<int>(n - i);
    for (int l = 0; l < 16; ++l) tail[l] = l < rest ? x[i + l] - max : -100.0f;
    const __m512 e = _mm512_maskz_mov_ps(static_cast<__mmask16>((1u << rest) - 1), exp_clamped(_mm512_load_ps(tail)));
    _mm512_store_ps(tail, e);
    for (int l = 0; l < rest; ++l) x[i + l] = tail[l];
    acc = _mm512_add_ps(acc, e);
  }
  return hsum(acc);
}

// Largest of 16 floats (no NaN among them).
inline float hmax(__m512 v) {
  __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 r = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  r = _mm_max_ps(r, _mm_movehl_ps(r, r));
  r = _mm_max_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

// 16 floats at p (fp16 when kF16).
template <bool kF16>
inline __m512 load16(const void* p) {
  if constexpr (kF16) return _mm512_cvtph_ps(_mm256_loadu_si256(static_cast<const __m256i*>(p)));
  else return _mm512_loadu_ps(p);
}

// AttendBlock for Q queries from i0 over B blocks (hd a multiple of 16): the 16 keys of a block in
// the lanes of one vector per query (hd FMAs, each key row shared by the Q queries; the B blocks
// are B independent chains), the softmax step on those vectors, then the values in 64-float slices
// of the output, each value row shared by the Q queries. The max is raised (acc and sum rescaled)
// only when a usable score exceeds it: after the first blocks that is rare, and the step is then
// a compare per vector, with no horizontal max and no rescaling (the factor would be exactly 1).
template <bool kF16, int Q, int B>
void attend_queries(const AttendBlock& a, int i0) {
  constexpr int kKeys = AttendBlock::kKeys, kBytes = kF16 ? 2 : 4;
  const float* q[Q];
  __m512 s[Q][B];
  for (int qi = 0; qi < Q; ++qi) {
    q[qi] = a.q[i0 + qi];
    for (int b = 0; b < B; ++b) s[qi][b] = _mm512_setzero_ps();
  }
  for (int64_t j = 0; j < a.hd; ++j) {
    __m512 k[B];
    for (int b = 0; b < B; ++b) k[b] = load16<kF16>(static_cast<const char*>(a.keys[b]) + kBytes * kKeys * j);
#pragma GCC unroll 4
    for (int qi = 0; qi < Q; ++qi) {
      const __m512 x = _mm512_set1_ps(q[qi][j]);
      for (int b = 0; b < B; ++b) s[qi][b] = _mm512_fmadd_ps(x, k[b], s[qi][b]);
    }
  }
  __m512 v[Q][B];
  __mmask16 seen[Q][B];
  int rows[B] = {};
  bool raised = false;  // does a usable score of some query exceed its running max?
  for (int qi = 0; qi < Q; ++qi) {
    const int i = i0 + qi;
    for (int b = 0; b < B; ++b) {
      const int n = std::clamp(a.seen[i] - kKeys * b, 0, kKeys);  // of block b's keys
      rows[b] = n > rows[b] ? n : rows[b];
      seen[qi][b] = static_cast<__mmask16>((1u << n) - 1);
      v[qi][b] = _mm512_mul_ps(s[qi][b], _mm512_set1_ps(a.scale));
      raised |= (seen[qi][b] & _mm512_cmp_ps_mask(v[qi][b], _mm512_set1_ps(a.max[i]), _CMP_GT_OQ)) != 0;
    }
  }
  __m512 rescale[Q];
  if (raised) {
    alignas(64) float old_max[16] = {}, new_max[16] = {}, factor[16];
    for (int qi = 0; qi < Q; ++qi) {
      __m512 usable_max = _mm512_set1_ps(-INFINITY);  // over the seen, non-NaN scores
      for (int b = 0; b < B; ++b)
        usable_max = _mm512_mask_max_ps(usable_max, seen[qi][b] & _mm512_cmp_ps_mask(v[qi][b], v[qi][b], _CMP_ORD_Q),
                                        usable_max, v[qi][b]);
      const float block_max = hmax(usable_max);
      old_max[qi] = a.max[i0 + qi];
      new_max[qi] = block_max > old_max[qi] ? block_max : old_max[qi];
    }
    // The Q rescale factors exp(old max - new max) in one vector (a scalar exp per query was a
    // call that spilled the vector registers): 0 where the old max is -inf and the new one is
    // not (the first block), NaN where both are (no usable key yet), as exp gives.
    const __m512 d = _mm512_sub_ps(_mm512_load_ps(old_max), _mm512_load_ps(new_max));
    _mm512_store_ps(factor, _mm512_mask_mov_ps(exp_clamped(d), _mm512_cmp_ps_mask(d, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ),
                                               _mm512_setzero_ps()));
    for (int qi = 0; qi < Q; ++qi) {
      a.sum[i0 + qi] *= factor[qi];
      a.max[i0 + qi] = new_max[qi];
      rescale[qi] = _mm512_set1_ps(factor[qi]);
    }
  }
  alignas(64) float p[Q][B * kKeys];
  for (int qi = 0; qi < Q; ++qi) {
    const __m512 max = _mm512_set1_ps(a.max[i0 + qi]);
    __m512 total = _mm512_setzero_ps();
    for (int b = 0; b < B; ++b) {
      const __m512 e = _mm512_maskz_mov_ps(seen[qi][b], exp_clamped(_mm512_sub_ps(v[qi][b], max)));
      _mm512_store_ps(p[qi] + kKeys * b, e);
      total = _mm512_add_ps(total, e);
    }
    a.sum[i0 + qi] += hsum(total);
  }
  for (int64_t c = 0; c < a.hd; c += 64) {
    const int nv = a.hd - c >= 64 ? 4 : static_cast<int>((a.hd - c) / 16);
    __m512 o[Q][4];
#pragma GCC unroll 4
    for (int qi = 0; qi < Q; ++qi)
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v) {
        const float* at = a.acc + (i0 + qi) * a.hd + c + 16 * v;
        o[qi][v] = v >= nv ? _mm512_setzero_ps() : raised ? _mm512_mul_ps(_mm512_loadu_ps(at), rescale[qi]) : _mm512_loadu_ps(at);
      }
    for (int b = 0; b < B; ++b)
      for (int r = 0; r < rows[b]; ++r) {
        const char* row = static_cast<const char*>(a.values[b]) + kBytes * (r * a.v_stride + c);
        __m512 val[4];
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v) val[v] = v < nv ? load16<kF16>(row + kBytes * 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int qi = 0; qi < Q; ++qi) {
          const __m512 w = _mm512_set1_ps(p[qi][kKeys * b + r]);
#pragma GCC unroll 4
          for (int v = 0; v < 4; ++v) o[qi][v] = _mm512_fmadd_ps(w, val[v], o[qi][v]);
        }
      }
#pragma GCC unroll 4
    for (int qi = 0; qi < Q; ++qi)
#pragma GCC unroll 4
      for (int v = 0; v < nv; ++v) _mm512_storeu_ps(a.acc + (i0 + qi) * a.hd + c + 16 * v, o[qi][v]);
  }
}

template <bool kF16, int B>
void attend_blocks(const AttendBlock& a) {
  in_fours(a.nq, [&]<int Q>(int i0) { attend_queries<kF16, Q, B>(a, i0); });
}

void attend_block(const AttendBlock& a) {
  static_assert(AttendBlock::kMaxBlocks == 2);
  if (a.hd % 16 != 0) scalar_set().attend_block(a);  // head sizes that are not a multiple of 16
  else if (a.n_blocks == 2) a.f16 ? attend_blocks<true, 2>(a) : attend_blocks<false, 2>(a);
  else a.f16 ? attend_blocks<true, 1>(a) : attend_blocks<false, 1>(a);
}

// --- activation quantization: act_quant.cpp's arithmetic (amax / 127, x * (1 / d) rounded to
// nearest even by vcvtps2dq), so the integers are the same.

// max |x| over n (a multiple of 16) values; a NaN is skipped (max returns its second operand).
inline float abs_max(const float* x, int64_t n) {
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  __m512 m = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16)
    m = _mm512_max_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(_mm512_loadu_ps(x + i)), magnitude)), m);
  return hmax(m);
}

// 16 floats times id, rounded, to 16 int8 at q (saturating, as the AVX2 packs); returns their sum.
inline int quantize_16(const float* x, __m512 id, int8_t* q) {
  const __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), id));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtsepi32_epi8(v));
  return hsum_i32(v);
}

void quantize_act_avx512(ActFormat format, const float* x, void* out, int64_t n) {
  if (format == ActFormat::Q8_0) {
    auto* b = static_cast<ActQ8_0*>(out);
    for (int64_t i = 0; i < n / 32; ++i, x += 32) {
      const float d = abs_max(x, 32) / 127.0f;
      const __m512 id = _mm512_set1_ps(d ? 1.0f / d : 0.0f);
      const int sum = quantize_16(x, id, b[i].qs) + quantize_16(x + 16, id, b[i].qs + 16);
      b[i].d = d;
      b[i].s = d * static_cast<float>(sum);
    }
  } else if (format == ActFormat::Q8_K) {
    auto* b = static_cast<ActQ8_K*>(out);
    for (int64_t i = 0; i < n / 256; ++i, x += 256) {
      const float d = abs_max(x, 256) / 127.0f;
      const __m512 id = _mm512_set1_ps(d ? 1.0f / d : 0.0f);
      b[i].d = d;
      for (int j = 0; j < 16; ++j) b[i].bsums[j] = static_cast<int16_t>(quantize_16(x + 16 * j, id, b[i].qs + 16 * j));
    }
  } else {
    quantize_act(format, x, out, n);
  }
}

}  // namespace

const KernelSet* CITADEL_AVX512_ENTRY() {
  static const KernelSet set = [] {
    KernelSet s{CITADEL_AVX512_NAME, dot_f32, dot_f16, dot_bf16, dot_q8_0, dot_q4_0,
                dot_q4_1, dot_q5_0, dot_q5_1, dot_q4_k, dot_q5_k, dot_q6_k,
                tile_q8_0, tile_q4_0, tile_q4_k, tile_q6_k, tile_f16, tile_bf16};
    s.dot_rows = dot_rows;
    s.axpy_rows = axpy_rows;
    s.exp_sum = exp_sum;
    s.attend_block = attend_block;
    s.to_f16 = to_f16;
    s.quantize_act = quantize_act_avx512;
    s.silu_mul = silu_mul;
    s.dot_q4_0_rows8 = dot_q4_0_rows8;
    s.tile_q4_0_rows8 = tile_q4_0_rows8;
#if defined(CITADEL_AVX512_EMULATED)
    s.emulated = true;
    s.tile_bf16 = tile_bf16_dp;  // SIMDe's vdpbf16ps: the same sums as the native one, testable anywhere
    s.bf16_tile_rounds_activations = true;
#else
    if (cpu_features().avx512bf16) {
      s.tile_bf16 = tile_bf16_dp;
      s.bf16_tile_rounds_activations = true;
    }
#endif
    return s;
  }();
  return &set;
}

}  // namespace citadel::kernels

#else

namespace citadel::kernels {
const KernelSet* CITADEL_AVX512_ENTRY() { return nullptr; }
}  // namespace citadel::kernels

#endif
