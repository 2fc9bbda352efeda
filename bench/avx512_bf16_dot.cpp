// Why the avx512 set multiplies BF16 weights by widening them to f32 (a shift) and FMA instead of
// vdpbf16ps: both dot a BF16 weight row with the activations, in one run, with the row in L1 (the
// instruction rate, as in prefill where a row is reused across tokens) and in memory (decode).
// vdpbf16ps also needs the activations rounded to bf16 first (done once here, outside the timing):
// its sums are not the float sums of the other kernel sets.
//   g++ -O2 -mavx512f -mavx512bw -mavx512vl -mavx512bf16 -mfma bench/avx512_bf16_dot.cpp -o /tmp/bf16 && /tmp/bf16
// Needs a CPU with AVX512_BF16 (lscpu: avx512_bf16).
#include <immintrin.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

static float dot_widen_fma(const uint16_t* w, const float* x, int64_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 32) {
    const __m512 w0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(w + i))), 16));
    const __m512 w1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(w + i + 16))), 16));
    a0 = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + i), a0);
    a1 = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + i + 16), a1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

static float dot_dpbf16(const uint16_t* w, const uint16_t* xb, int64_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 64) {
    a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(w + i), (__m512bh)_mm512_loadu_si512(xb + i));
    a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_loadu_si512(w + i + 32), (__m512bh)_mm512_loadu_si512(xb + i + 32));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

static uint16_t to_bf16(float f) {  // round to nearest even
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

int main() {
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0, 1);
  const int64_t n = 2048;
  for (int64_t rows : {16, 65536}) {  // 64 KiB of weights (L1/L2) and 256 MiB (memory)
    std::vector<uint16_t> w(rows * n), xb(n);
    std::vector<float> x(n);
    for (auto& v : w) v = to_bf16(nd(rng) * 0.05f);
    for (int64_t i = 0; i < n; ++i) xb[i] = to_bf16(x[i] = nd(rng));
    const int64_t total = rows == 16 ? 200000 : 2 * rows;  // row dots per timing
    double best[2] = {1e9, 1e9}, check[2] = {0, 0};
    for (int round = 0; round < 5; ++round)
      for (int which = 0; which < 2; ++which) {
        double sink = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (int64_t k = 0; k < total; ++k) {
          const uint16_t* row = w.data() + (k % rows) * n;
          sink += which == 0 ? dot_widen_fma(row, x.data(), n) : dot_dpbf16(row, xb.data(), n);
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best[which] = std::min(best[which], s / total);
        check[which] = sink;
      }
    std::printf("%s: widen+FMA %.1f ns/row, vdpbf16ps %.1f ns/row, dpbf16/widen time %.2f (sums %.3g vs %.3g)\n",
                rows == 16 ? "row in cache " : "row in memory", best[0] * 1e9, best[1] * 1e9, best[1] / best[0], check[0],
                check[1]);
  }
}
