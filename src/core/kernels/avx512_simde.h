// Internal to kernels_avx512_emulated.cpp: the AVX-512 intrinsics as SIMDe's native aliases
// (Debian's libsimde-dev), so kernels_avx512.cpp compiles unchanged for CPUs with AVX2 only, plus
// the few that SIMDe 0.7 does not have, built from two 256-bit halves (AVX2, F16C) under the
// intrinsics' own names.
#pragma once
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

// SIMDe 0.7.4's alias of _mm512_madd_epi16 takes the masked form's four arguments.
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)

namespace citadel::kernels::simde_extra {

inline __m512 join(__m256 lo, __m256 hi) {
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
}
inline __m256 low(__m512 v) { return _mm512_castps512_ps256(v); }
inline __m256 high(__m512 v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); }

inline __m512 cvtph_ps(__m256i h) {
  return join(_mm256_cvtph_ps(_mm256_castsi256_si128(h)), _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1)));
}

inline __m512i join(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }
inline __m256i low(__m512i v) { return _mm512_castsi512_si256(v); }
inline __m256i high(__m512i v) { return _mm512_extracti64x4_epi64(v, 1); }

inline __m512 cvtepi32_ps(__m512i v) { return join(_mm256_cvtepi32_ps(low(v)), _mm256_cvtepi32_ps(high(v))); }
inline __m512i cvtps_epi32(__m512 v) { return join(_mm256_cvtps_epi32(low(v)), _mm256_cvtps_epi32(high(v))); }
inline __m512i cvtepu16_epi32(__m256i v) {
  return join(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(v)), _mm256_cvtepu16_epi32(_mm256_extracti128_si256(v, 1)));
}
#define CITADEL_CVTPS_PH(v, rounding) \
  _mm256_set_m128i(_mm256_cvtps_ph(citadel::kernels::simde_extra::high(v), rounding), \
                   _mm256_cvtps_ph(citadel::kernels::simde_extra::low(v), rounding))

}  // namespace citadel::kernels::simde_extra

#define _mm512_cvtph_ps(h) citadel::kernels::simde_extra::cvtph_ps(h)
#define _mm512_cvtepi32_ps(v) citadel::kernels::simde_extra::cvtepi32_ps(v)
#define _mm512_cvtps_epi32(v) citadel::kernels::simde_extra::cvtps_epi32(v)
#define _mm512_cvtepu16_epi32(v) citadel::kernels::simde_extra::cvtepu16_epi32(v)
#define _mm512_cvtps_ph(v, rounding) CITADEL_CVTPS_PH(v, rounding)
