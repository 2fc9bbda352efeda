// Activations quantized to 8 bits per block, so weight-times-activation products run in the
// integer domain, as the block formats intend. Quantized once per matmul, read by every row.
#pragma once
#include <cstddef>
#include <cstdint>

namespace citadel::kernels {

// 32 activations: x ≈ d * qs; s = d * sum(qs) serves the formats with a min or an offset.
struct ActQ8_0 { float d; float s; int8_t qs[32]; };
// 256 activations for the K formats: x ≈ d * qs; bsums[j] = sum of qs[16j .. 16j+15].
struct ActQ8_K { float d; int16_t bsums[16]; int8_t qs[256]; };
// One 32-value block of 8 tokens, interleaved for kernels that keep the tokens in vector lanes:
// qs[32 * j + 4 * t + i] is value 4j + i of token t; sum[t] = sum of token t's 32 values.
struct ActQ8_0x8 { float d[8]; int32_t sum[8]; int8_t qs[256]; };
// One 256-value block (ActQ8_K) of 8 tokens, for the K-format tiles: each 32-value sub-block s
// is interleaved as in ActQ8_0x8 (qs[256 * s + 32 * j + 4 * t + i] is value 32s + 4j + i of
// token t); msums[p][2t + i] = sum of token t's sub-block 2p + i (pairs, for one madd).
struct ActQ8_Kx8 { float d[8]; int16_t msums[4][16]; int8_t qs[2048]; };
static_assert(sizeof(ActQ8_0) == 40 && sizeof(ActQ8_K) == 292 && sizeof(ActQ8_0x8) == 320);
static_assert(sizeof(ActQ8_Kx8) == 2208);

// What a weight type's dot product wants the activation row converted to.
enum class ActFormat { F32, Q8_0, Q8_K };

// Bytes of one activation row of n values in `format` (n a multiple of its block size).
size_t act_row_bytes(ActFormat format, int64_t n);
// n floats -> one activation row (round to nearest even; the same code on every CPU, so every
// kernel sees the same integers).
void quantize_act(ActFormat format, const float* x, void* out, int64_t n);

// Bytes of one group of 8 tokens in the interleaved form of `format`, and the packing of 8 rows
// (in `format`, `stride` bytes apart, n values each) into it: what the prefill tiles read
// (Q8_0: n / 32 ActQ8_0x8 blocks; Q8_K: n / 256 ActQ8_Kx8 blocks; F32: value k of token t at
// float 8k + t).
size_t act_group_bytes(ActFormat format, int64_t n);
void pack_act_x8(ActFormat format, const void* rows, size_t stride, int64_t n, void* out);

}  // namespace citadel::kernels
