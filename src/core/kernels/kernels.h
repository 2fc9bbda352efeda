// Dot-product kernels of weight rows with activation rows, one set per instruction set, chosen
// at run time from what the CPU offers. The scalar set is portable and is the yardstick the
// SIMD sets are tested against; all sets compute the same integer sums, so they differ only by
// float rounding.
#pragma once
#include <cstdint>
#include <vector>

#include "core/kernels/act_quant.h"
#include "core/tensor_type.h"

namespace citadel::kernels {

// Dot product of n values of one weight row with one activation row (in act_format(type)).
using DotFn = float (*)(const void* w, const void* x, int64_t n);

// Weight rows times groups of 8 tokens (prefill): y[(8 * g + t) * y_stride + r] = dot(row r,
// token t of group g) for r < nr, g < n_groups. Rows are w_stride bytes apart; x holds the groups
// one after another, act_group_bytes(act_format(type), n) bytes each (ActQ8_0x8 or ActQ8_Kx8
// blocks). Tokens sit in vector lanes, so each weight block is read once per pair of groups,
// and the integer sums are those of `dot`. `scratch` has tile_scratch_bytes(n) bytes.
using TileFn = void (*)(const void* w, size_t w_stride, int nr, const void* x, int n_groups, int64_t n,
                        float* y, int64_t y_stride, void* scratch);
inline size_t tile_scratch_bytes(int64_t n) { return 16 * static_cast<size_t>(n) + 98304; }

// One or two KV blocks of online-softmax attention (flash attention) for nq queries. A block's
// keys are transposed, hd rows of kKeys (key r's value j at keys[b][kKeys * j + r]), so the scores
// of a query are hd multiply-adds of whole vectors; its values are rows, v_stride values apart.
// Both are floats, or fp16 when f16. The n_blocks blocks are taken as one run of n_blocks * kKeys
// keys (key r of block b is key kKeys * b + r): two blocks per call halve the softmax steps and
// give the scores two independent chains. Query i (hd floats at q[i]) sees the run's first
// seen[i] keys (0..n_blocks * kKeys; 0 leaves it as it is once an earlier call has set its max).
// With its scores s_r = scale * q[i] . key_r, as softmax_block (softmax.h) does: max[i] becomes
// the largest of max[i] and the s_r (a NaN score never becomes it: it gives NaN weights), sum[i] =
// sum[i] * f + sum_r exp(s_r - max[i]), and the hd floats at acc + i * hd = acc * f + sum_r
// exp(s_r - max[i]) * value_r, where f = exp(old max[i] - new max[i]).
struct AttendBlock {
  static constexpr int kKeys = 16;      // keys per KV block
  static constexpr int kMaxBlocks = 2;  // blocks per call
  int n_blocks;                         // 1..kMaxBlocks
  const void* keys[kMaxBlocks];
  const void* values[kMaxBlocks];
  int64_t v_stride;
  bool f16;
  int64_t hd;
  float scale;
  int nq;
  const float* const* q;
  const int* seen;
  float* max;
  float* sum;
  float* acc;
};

struct KernelSet {
  const char* name;  // "scalar", "avx2", "avx512", "avx512-emulated", "neon"
  DotFn f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k;
  // Optional matrix-matrix tiles (nullptr: matmul loops over `dot`).
  TileFn tile_q8_0 = nullptr, tile_q4_0 = nullptr, tile_q4_k = nullptr, tile_q6_k = nullptr;
  TileFn tile_f16 = nullptr, tile_bf16 = nullptr;  // float activations (F32 groups)
  // tile_bf16 rounds the activations to bf16 first (vdpbf16ps, as llama.cpp does for BF16 weights):
  // its sums are those of the rounded activations, not of the float ones.
  bool bf16_tile_rounds_activations = false;

  // Float helpers over rows (the training attention, softmax; a set without them gets the
  // scalar ones from active()). dot_rows: out[i] = dot(rows + i * stride, x, n) for i < n_rows.
  // axpy_rows: y += sum over i < n_rows of a[i] * (rows + i * stride). exp_sum: x[i] =
  // exp(x[i] - max) for i < n, returning their sum (the body of a softmax).
  void (*dot_rows)(const float* rows, int64_t stride, int n_rows, const float* x, int64_t n, float* out) = nullptr;
  void (*axpy_rows)(const float* rows, int64_t stride, int n_rows, const float* a, int64_t n, float* y) = nullptr;
  float (*exp_sum)(float* x, int64_t n, float max) = nullptr;
  // One or two KV blocks of the model's attention for a group of queries (AttendBlock above).
  void (*attend_block)(const AttendBlock& a) = nullptr;
  // The float -> fp16 row conversion that fills an f16 KV cache (round to nearest even, as
  // fp32_to_fp16).
  void (*to_f16)(const float* x, uint16_t* out, int64_t n) = nullptr;
  // Decode over a rows8 Q4_0 group (core/repack.h): out[r] = dot(row r of the 8, x) for one
  // ActQ8_0 activation row of n values.
  void (*dot_q4_0_rows8)(const void* group, const void* x, int64_t n, float* out) = nullptr;
  // The Q4_0 prefill tile over rows8 groups (nullptr: matmul gathers the rows back for tile_q4_0):
  // w is row 0's group, w_stride the file's row size (8 rows = one group), nr a multiple of 8.
  TileFn tile_q4_0_rows8 = nullptr;
  // gate[i] = silu(gate[i]) * up[i] for i < n (the SwiGLU feed-forward's middle).
  void (*silu_mul)(float* gate, const float* up, int64_t n) = nullptr;
  // quantize_act (act_quant.h) with this CPU's instructions: the same integers, bit for bit.
  void (*quantize_act)(ActFormat format, const float* x, void* out, int64_t n) = nullptr;
  // Another instruction set's code run through SIMDe (avx512-emulated): for tests on CPUs without
  // it; slow, so active() never picks it unless $CITADEL_ISA names it.
  bool emulated = false;

  DotFn dot(TensorType type) const;  // nullptr for a type without a kernel
  TileFn tile(TensorType type) const;
};

// The activation format a weight type's kernels read.
ActFormat act_format(TensorType type);
// True when `type` has kernels (the types the reference dot_row supports).
bool has_kernels(TensorType type);

// The set in use: the best native one this CPU runs, or the one in available() named by
// $CITADEL_ISA (scalar, avx2, avx512, avx512-emulated, neon).
const KernelSet& active();
// Makes `set` the active one, process-wide, until called again (tests and benchmarks that
// compare sets in one process; never while a forward pass runs).
void use_for_testing(const KernelSet& set);
// Every set this build has and this CPU runs, the scalar set first (for tests and benchmarks):
// avx512-emulated is among them where the native avx512 set is not (or $CITADEL_ISA names it).
std::vector<const KernelSet*> available();

// Per-ISA sets (nullptr when this build or CPU lacks them).
const KernelSet& scalar_set();
const KernelSet* avx2_set();
const KernelSet* avx512_set();           // AVX-512 F/BW/VL/VNNI (+ AVX2, FMA, F16C)
const KernelSet* avx512_emulated_set();  // the same code through SIMDe; needs AVX2, FMA, F16C
const KernelSet* neon_set();

}  // namespace citadel::kernels
