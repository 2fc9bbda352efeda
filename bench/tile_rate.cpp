// How close the prefill tiles of the active kernel set come to the machine's instruction peak:
// each tile on a 64-row x 2048 block with 128 tokens (16 groups), weights and activations in cache
// (L2), against the rate of independent 512-bit vpdpbusd (integer tiles), FMA (float tiles) and
// vdpbf16ps (a BF16 tile that rounds its activations to bf16 uses it) measured in the same run. A
// tile's products per second over 64 (vpdpbusd), 16 (FMA) or 32 (vdpbf16ps) products per
// instruction is its share of that peak. Best of 7 rounds, alternating, so a busy moment of
// the machine costs one round, not one kernel.
//   g++ -O2 -std=c++20 -Isrc bench/tile_rate.cpp build/libcitadel_core.a -lpthread -o /tmp/tile_rate && /tmp/tile_rate
// The peaks need AVX-512 F and VNNI, vdpbf16ps AVX512_BF16 (skipped elsewhere, and the shares with
// them).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/tensor_type.h"
using namespace citadel;

static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

#define X16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define DPBUSD(i) "vpdpbusd %%zmm30, %%zmm31, %%zmm" #i "\n"
#define FMA(i) "vfmadd231ps %%zmm30, %%zmm31, %%zmm" #i "\n"
#define DPBF16(i) "vdpbf16ps %%zmm30, %%zmm31, %%zmm" #i "\n"
// Instructions per second of one instruction on 16 independent accumulators: enough to hide its
// 4-cycle latency at 2 instructions a cycle.
#define INSTRUCTION_RATE(name, isa, INSTR)                                   \
  __attribute__((target(isa))) static double name() {                        \
    const long it = 5000000;                                                 \
    const double t = now();                                                  \
    for (long k = 0; k < it; ++k) asm volatile(X16(INSTR)::: "memory");     \
    return it * 16 / (now() - t);                                            \
  }
INSTRUCTION_RATE(dpbusd_per_s, "avx512f,avx512vnni", DPBUSD)
INSTRUCTION_RATE(fma_per_s, "avx512f", FMA)
INSTRUCTION_RATE(dpbf16_per_s, "avx512f,avx512bf16", DPBF16)

int main() {
  const kernels::KernelSet& ks = kernels::active();
  const bool peaks = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni");
  const int64_t n = 2048;
  const int nr = 64, groups = 16;
  std::mt19937 rng(1);
  struct Case {
    std::string name;
    kernels::TileFn tile;
    TensorType type;
    const char* peak;  // "vpdpbusd", "FMA" or "vdpbf16ps"
    std::vector<uint8_t> w;
    size_t stride;
    std::vector<uint8_t> x;
    double best = 0;
  };
  std::vector<Case> cases;
  auto add = [&](const char* name, kernels::TileFn tile, TensorType type, bool rows8 = false) {
    if (!tile) return;
    const bool dpbf16 = type == TensorType::BF16 && ks.bf16_tile_rounds_activations;
    Case c{name, tile, type, kernels::act_format(type) != kernels::ActFormat::F32 ? "vpdpbusd" : dpbf16 ? "vdpbf16ps" : "FMA"};
    c.stride = static_cast<size_t>(row_bytes(type, n));
    c.w.resize(c.stride * nr);
    // Values that are ordinary numbers in every format: random bytes, then each block's scale (or
    // each fp16/bf16 value) set to a small normal one (denormal scales would time the FPU's
    // microcode, not the tile).
    for (auto& b : c.w) b = static_cast<uint8_t>(rng() & 0x77);
    const uint16_t scale = 0x2000;  // fp16 ~0.0078
    if (type == TensorType::F16 || type == TensorType::BF16) {
      auto* h = reinterpret_cast<uint16_t*>(c.w.data());
      for (size_t i = 0; i < c.w.size() / 2; ++i) h[i] = static_cast<uint16_t>((type == TensorType::F16 ? 0x3000 : 0x3E00) + (rng() & 0xFF));
    } else if (type == TensorType::Q8_0 || type == TensorType::Q4_0) {
      const size_t bs = type == TensorType::Q8_0 ? 34 : 18;
      for (size_t o = 0; o < c.w.size(); o += bs) std::memcpy(&c.w[o], &scale, 2);
      if (rows8) {  // the same rows in the 8-row re-layout (core/repack.h): scales first per block
        for (size_t o = 0; o < c.w.size(); o += 144)
          for (int i = 0; i < 8; ++i) std::memcpy(&c.w[o + 2 * i], &scale, 2);
      }
    } else {  // K formats: d (and dmin) at the block's start
      const size_t bs = static_cast<size_t>(row_bytes(type, 256));
      const size_t at = type == TensorType::Q6_K ? bs - 2 : 0;
      for (size_t o = 0; o < c.w.size(); o += bs) {
        std::memcpy(&c.w[o + at], &scale, 2);
        if (type != TensorType::Q6_K) std::memcpy(&c.w[o + 2], &scale, 2);
      }
    }
    const kernels::ActFormat fmt = kernels::act_format(type);
    const size_t xs = kernels::act_row_bytes(fmt, n), gb = kernels::act_group_bytes(fmt, n);
    std::vector<float> xf(n);
    std::vector<uint8_t> xq(8 * xs);
    c.x.resize(groups * gb);
    for (int g = 0; g < groups; ++g) {
      for (int t = 0; t < 8; ++t) {
        for (auto& f : xf) f = static_cast<float>(rng() % 2001) / 1000.0f - 1.0f;
        kernels::quantize_act(fmt, xf.data(), xq.data() + t * xs, n);
      }
      kernels::pack_act_x8(fmt, xq.data(), xs, n, c.x.data() + g * gb);
    }
    cases.push_back(std::move(c));
  };
  add("q8_0", ks.tile_q8_0, TensorType::Q8_0);
  add("q4_0", ks.tile_q4_0, TensorType::Q4_0);
  add("q4_0 rows8", ks.tile_q4_0_rows8, TensorType::Q4_0, true);
  add("q4_k", ks.tile_q4_k, TensorType::Q4_K);
  add("q6_k", ks.tile_q6_k, TensorType::Q6_K);
  add("f16", ks.tile_f16, TensorType::F16);
  add("bf16", ks.tile_bf16, TensorType::BF16);

  std::vector<float> y(static_cast<size_t>(groups) * 8 * nr);
  std::vector<uint8_t> scratch(kernels::tile_scratch_bytes(n));
  const bool bf16_peak = peaks && __builtin_cpu_supports("avx512bf16");
  double dp_peak = 0, fma_peak = 0, bf16_rate = 0;
  for (int round = 0; round < 7; ++round) {
    if (peaks) dp_peak = std::max(dp_peak, dpbusd_per_s()), fma_peak = std::max(fma_peak, fma_per_s());
    if (bf16_peak) bf16_rate = std::max(bf16_rate, dpbf16_per_s());
    for (Case& c : cases) {
      const int reps = std::string(c.peak) == "vpdpbusd" ? 60 : 20;
      const double t = now();
      for (int r = 0; r < reps; ++r) c.tile(c.w.data(), c.stride, nr, c.x.data(), groups, n, y.data(), nr, scratch.data());
      c.best = std::max(c.best, static_cast<double>(n) * nr * groups * 8 * reps / (now() - t));
    }
  }
  std::printf("kernel set %s; tiles on %d rows x %ld values, %d tokens, in cache\n", ks.name, nr, static_cast<long>(n),
              8 * groups);
  if (peaks)
    std::printf("peak: vpdpbusd %.2fG/s (%.0f G products/s), FMA %.2fG/s (%.0f G products/s)", dp_peak / 1e9,
                dp_peak * 64 / 1e9, fma_peak / 1e9, fma_peak * 16 / 1e9);
  if (bf16_peak) std::printf(", vdpbf16ps %.2fG/s (%.0f G products/s)", bf16_rate / 1e9, bf16_rate * 32 / 1e9);
  std::printf("\n");
  for (const Case& c : cases) {
    std::printf("%-11s %7.1f G products/s", c.name.c_str(), c.best / 1e9);
    const std::string peak = c.peak;
    const double products = peak == "vpdpbusd" ? dp_peak * 64 : peak == "FMA" ? fma_peak * 16 : bf16_rate * 32;
    if (products > 0) std::printf("  = %3.0f%% of the %s peak", 100 * c.best / products, c.peak);
    std::printf("\n");
  }
}
