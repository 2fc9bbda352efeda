// The 32-value block types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0. The quantizers make the same bytes
// as ggml's quantize_row_*_ref (llama-quantize), so a file we write matches one it writes.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "core/quant_blocks.h"
#include "core/quant_codec.h"

namespace citadel::quant_detail {
namespace {

// Symmetric formats: d = (value of largest magnitude, sign kept, first on ties) / divisor, so
// that value maps to the extreme level exactly. Stores d as fp16, returns 1/d (0 for a zero block).
float symmetric_scale(const float* x, float divisor, uint16_t* d16) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float d = max / divisor;
  *d16 = fp32_to_fp16(d);
  return d ? 1.0f / d : 0.0f;
}

// Formats with a min: `steps` equal steps from min to max. Stores d and min as fp16, returns
// 1/d (0 for a constant block) and the min in *mn.
float affine_scale(const float* x, int steps, uint16_t* d16, uint16_t* m16, float* mn) {
  float lo = FLT_MAX, hi = -FLT_MAX;
  for (int j = 0; j < kQK; ++j) {
    if (x[j] < lo) lo = x[j];
    if (x[j] > hi) hi = x[j];
  }
  const float d = (hi - lo) / steps;
  *d16 = fp32_to_fp16(d);
  *m16 = fp32_to_fp16(lo);
  *mn = lo;
  return d ? 1.0f / d : 0.0f;
}

// Stores 5-bit values: low 4 bits as Q4 nibbles, the fifth bits in a 32-bit mask.
void pack_5bit(const uint8_t* v, uint8_t* qs, uint8_t* qh) {
  uint32_t h = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    qs[j] = (v[j] & 0x0F) | ((v[j + kQK / 2] & 0x0F) << 4);
    h |= static_cast<uint32_t>(v[j] >> 4) << j;
    h |= static_cast<uint32_t>(v[j + kQK / 2] >> 4) << (j + kQK / 2);
  }
  std::memcpy(qh, &h, 4);
}

void unpack_nibbles(const uint8_t* qs, int offset, int8_t* q) {
  for (int j = 0; j < kQK / 2; ++j) {
    q[j] = static_cast<int8_t>((qs[j] & 0x0F) - offset);
    q[j + kQK / 2] = static_cast<int8_t>((qs[j] >> 4) - offset);
  }
}

void unpack_5bit(const uint8_t* qs, const uint8_t* qh, int offset, int8_t* q) {
  uint32_t h;
  std::memcpy(&h, qh, 4);
  for (int j = 0; j < kQK / 2; ++j) {
    q[j] = static_cast<int8_t>(((qs[j] & 0x0F) | (((h >> j) & 1) << 4)) - offset);
    q[j + kQK / 2] = static_cast<int8_t>(((qs[j] >> 4) | (((h >> (j + kQK / 2)) & 1) << 4)) - offset);
  }
}

// --- Q4_0: symmetric, levels -8..7.
void quantize_q4_0(const float* x, void* out) {
  auto* b = static_cast<BlockQ4_0*>(out);
  const float id = symmetric_scale(x, -8, &b->d);
  for (int j = 0; j < kQK / 2; ++j) {
    // Truncation of (v + 8.5) is rounding half up of v + 8; the cast is to int8 as in ggml.
    const int lo = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
    const int hi = std::min(15, static_cast<int>(static_cast<int8_t>(x[j + kQK / 2] * id + 8.5f)));
    b->qs[j] = static_cast<uint8_t>(lo | (hi << 4));
  }
}
void unpack_q4_0(const void* in, UnpackedBlock& u) {
  const auto* b = static_cast<const BlockQ4_0*>(in);
  u.scale[0] = fp16_to_fp32(b->d);
  unpack_nibbles(b->qs, 8, u.q);
}

// --- Q4_1: min + 15 steps up to max.
void quantize_q4_1(const float* x, void* out) {
  auto* b = static_cast<BlockQ4_1*>(out);
  float mn;
  const float id = affine_scale(x, 15, &b->d, &b->m, &mn);
  for (int j = 0; j < kQK / 2; ++j) {
    const int lo = std::min(15, static_cast<int>(static_cast<int8_t>((x[j] - mn) * id + 0.5f)));
    const int hi = std::min(15, static_cast<int>(static_cast<int8_t>((x[j + kQK / 2] - mn) * id + 0.5f)));
    b->qs[j] = static_cast<uint8_t>(lo | (hi << 4));
  }
}
void unpack_q4_1(const void* in, UnpackedBlock& u) {
  const auto* b = static_cast<const BlockQ4_1*>(in);
  u.scale[0] = fp16_to_fp32(b->d);
  u.bias[0] = fp16_to_fp32(b->m);
  unpack_nibbles(b->qs, 0, u.q);
}

// --- Q5_0: as Q4_0 with 32 levels.
void quantize_q5_0(const float* x, void* out) {
  auto* b = static_cast<BlockQ5_0*>(out);
  const float id = symmetric_scale(x, -16, &b->d);
  uint8_t v[kQK];
  for (int j = 0; j < kQK; ++j) v[j] = static_cast<uint8_t>(std::min(31, static_cast<int>(static_cast<int8_t>(x[j] * id + 16.5f))));
  pack_5bit(v, b->qs, b->qh);
}
void unpack_q5_0(const void* in, UnpackedBlock& u) {
  const auto* b = static_cast<const BlockQ5_0*>(in);
  u.scale[0] = fp16_to_fp32(b->d);
  unpack_5bit(b->qs, b->qh, 16, u.q);
}

// --- Q5_1: as Q4_1 with 31 steps.
void quantize_q5_1(const float* x, void* out) {
  auto* b = static_cast<BlockQ5_1*>(out);
  float mn;
  const float id = affine_scale(x, 31, &b->d, &b->m, &mn);
  uint8_t v[kQK];
  for (int j = 0; j < kQK; ++j) v[j] = static_cast<uint8_t>((x[j] - mn) * id + 0.5f);
  pack_5bit(v, b->qs, b->qh);
}
void unpack_q5_1(const void* in, UnpackedBlock& u) {
  const auto* b = static_cast<const BlockQ5_1*>(in);
  u.scale[0] = fp16_to_fp32(b->d);
  u.bias[0] = fp16_to_fp32(b->m);
  unpack_5bit(b->qs, b->qh, 0, u.q);
}

// --- Q8_0: symmetric, d = absmax / 127, values rounded half away from zero.
void quantize_q8_0(const float* x, void* out) {
  auto* b = static_cast<BlockQ8_0*>(out);
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127;
  const float id = d ? 1.0f / d : 0.0f;
  b->d = fp32_to_fp16(d);
  for (int j = 0; j < kQK; ++j) b->qs[j] = static_cast<int8_t>(std::round(x[j] * id));
}
void unpack_q8_0(const void* in, UnpackedBlock& u) {
  const auto* b = static_cast<const BlockQ8_0*>(in);
  u.scale[0] = fp16_to_fp32(b->d);
  std::memcpy(u.q, b->qs, kQK);
}

constexpr BlockCodec kQ4_0{kQK, kQK, false, unpack_q4_0, quantize_q4_0};
constexpr BlockCodec kQ4_1{kQK, kQK, true, unpack_q4_1, quantize_q4_1};
constexpr BlockCodec kQ5_0{kQK, kQK, false, unpack_q5_0, quantize_q5_0};
constexpr BlockCodec kQ5_1{kQK, kQK, true, unpack_q5_1, quantize_q5_1};
constexpr BlockCodec kQ8_0{kQK, kQK, false, unpack_q8_0, quantize_q8_0};

}  // namespace

const BlockCodec* legacy_codec(TensorType type) {
  switch (type) {
    case TensorType::Q4_0: return &kQ4_0;
    case TensorType::Q4_1: return &kQ4_1;
    case TensorType::Q5_0: return &kQ5_0;
    case TensorType::Q5_1: return &kQ5_1;
    case TensorType::Q8_0: return &kQ8_0;
    default: return nullptr;
  }
}

}  // namespace citadel::quant_detail
