// Byte layouts of the block-quantized GGUF types (ggml's block_q4_0, block_q4_K, ...).
// `d`/`dmin`/`m` are fp16 bit patterns. Blocks need 2-byte alignment (GGUF data is 32-aligned).
#pragma once
#include <cstdint>

namespace citadel {

constexpr int kQK = 32;    // values per block of the legacy types
constexpr int kQK_K = 256; // values per super-block of the K types

// x = d * (q - 8); low nibbles hold values 0..15, high nibbles 16..31.
struct BlockQ4_0 { uint16_t d; uint8_t qs[kQK / 2]; };
// x = d * q + m
struct BlockQ4_1 { uint16_t d; uint16_t m; uint8_t qs[kQK / 2]; };
// x = d * (q - 16); qh bit j is the fifth bit of value j.
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
// x = d * q + m
struct BlockQ5_1 { uint16_t d; uint16_t m; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
// x = d * q
struct BlockQ8_0 { uint16_t d; int8_t qs[kQK]; };

// 8 sub-blocks of 32: x = d * sc[j] * q - dmin * m[j], 6-bit sc/m packed in `scales`.
// qs: for each 64 values, 32 bytes: low nibbles the first 32, high nibbles the next 32.
struct BlockQ4_K { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qs[kQK_K / 2]; };
// As Q4_K plus a fifth bit: for the i-th 64 values, qh bit 2i (first 32) and 2i+1 (next 32).
struct BlockQ5_K { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qh[kQK_K / 8]; uint8_t qs[kQK_K / 2]; };
// 16 sub-blocks of 16: x = d * scales[j] * (q - 32), q 6 bits: 4 in ql, 2 in qh.
struct BlockQ6_K { uint8_t ql[kQK_K / 2]; uint8_t qh[kQK_K / 4]; int8_t scales[kQK_K / 16]; uint16_t d; };

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210);

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block: sub-blocks 0-3 use the
// low 6 bits of bytes j and j+4; 4-7 keep their low 4 bits in bytes 8..11 and the top 2 bits in
// the spare high bits of bytes 0..7.
inline void unpack_scale_min_k4(int j, const uint8_t* scales, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = scales[j] & 63;
    *m = scales[j + 4] & 63;
  } else {
    *sc = (scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4);
    *m = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
  }
}

}  // namespace citadel
