// Half-precision (IEEE binary16) and bfloat16 conversions, scalar and exact.
// Both directions round to nearest even; inf and NaN stay inf and NaN (a NaN becomes a quiet
// NaN), subnormals are kept, not flushed. Bit-for-bit the results of ggml's reference code.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace citadel {

// Branch-free, so loops over it vectorize: the 15 bits below the sign are moved into a float's
// exponent/mantissa position and re-biased by a multiply by 2^-112 (which also keeps inf, and
// makes a NaN quiet as hardware conversions do); subnormals (exponent 0) are built instead as
// 0.5 + mant * 2^-24 and then have 0.5 taken off, both steps exact.
inline float fp16_to_fp32(uint16_t h) {
  const uint32_t w = static_cast<uint32_t>(h) << 16;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t two_w = w + w;  // exponent and mantissa at the top, sign gone
  const float normal = std::bit_cast<float>((two_w >> 4) + (0xE0u << 23)) * 0x1p-112f;
  const float subnormal = std::bit_cast<float>((two_w >> 17) | (126u << 23)) - 0.5f;
  const uint32_t mag = two_w < (1u << 27) ? std::bit_cast<uint32_t>(subnormal) : std::bit_cast<uint32_t>(normal);
  return std::bit_cast<float>(sign | mag);
}

inline uint16_t fp32_to_fp16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u;     // NaN: the canonical quiet NaN, as ggml
  if (a >= 0x477ff000u) return sign | 0x7c00u;    // >= 65520 rounds to inf
  if (a < 0x38800000u) {                          // below 2^-14: a half subnormal (or zero)
    // Scaling by 2^24 is exact; nearbyint rounds to nearest even in the default mode.
    const float scaled = std::bit_cast<float>(a) * 0x1p24f;
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  uint32_t h = ((a >> 23) - 112) << 10 | ((a >> 13) & 0x3ffu);
  const uint32_t rest = a & 0x1fffu;  // the 13 bits dropped
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry moves into the exponent
  return sign | static_cast<uint16_t>(h);
}

inline float bf16_to_fp32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

inline uint16_t fp32_to_bf16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

}  // namespace citadel
