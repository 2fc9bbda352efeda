// Half-precision (IEEE binary16) and bfloat16 conversions, scalar and exact.
// Both directions round to nearest even; inf and NaN stay inf and NaN (a NaN becomes a quiet
// NaN), subnormals are kept, not flushed. Bit-for-bit the results of ggml's reference code.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace citadel {

inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float
    const float mag = static_cast<float>(mant) * 0x1p-24f;
    return std::bit_cast<float>(std::bit_cast<uint32_t>(mag) | sign);
  }
  if (exp == 31) {  // inf, or NaN made quiet (as hardware conversions do), payload kept
    const uint32_t payload = mant ? (mant | 0x200u) << 13 : 0;
    return std::bit_cast<float>(sign | 0x7f800000u | payload);
  }
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
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
