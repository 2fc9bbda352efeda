// The 256-value super-block types Q4_K, Q5_K, Q6_K. Quantizers follow ggml's reference
// (quantize_row_q*_K_ref) step for step, float operation for float operation, so the bytes match
// llama-quantize's when no importance matrix is given.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "core/quant_blocks.h"
#include "core/quant_codec.h"

namespace citadel::quant_detail {
namespace {

// Round to nearest (ties to even) by adding 1.5 * 2^23: the float's low mantissa bits are then
// the integer. Valid for |x| < 2^22, which holds for every call below.
int nearest_int(float x) {
  const float v = x + 12582912.0f;
  return static_cast<int>(std::bit_cast<uint32_t>(v) & 0x007fffff) - 0x00400000;
}

// Fits x[i] ~ scale * L[i] - min with L in [0, nmax], min >= 0, minimising the weighted squared
// error: start from the min/max grid, then try nstep+1 slightly stretched grids
// (nmax + rmin + rdelta * is levels over the range), each refined by weighted least squares for
// scale and min given the levels. Returns the scale; *neg_min gets the min (as a positive offset).
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min,
                    float rmin, float rdelta, int nstep) {
  float lo = x[0], hi = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (lo > 0) lo = 0;  // the grid always contains zero
  if (hi == lo) {
    std::fill(L, L + n, 0);
    *neg_min = -lo;
    return 0.0f;
  }
  float iscale = nmax / (hi - lo);
  float scale = 1 / iscale;
  float best_err = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(std::clamp(nearest_int(iscale * (x[i] - lo)), 0, nmax));
    const float diff = scale * L[i] + lo - x[i];
    best_err += w[i] * (diff * diff);
  }
  uint8_t trial[32];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (hi - lo);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - lo)), 0, nmax);
      trial[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (!(det > 0)) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0) {  // an offset above zero is not representable: refit the scale alone
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float err = 0;
    for (int i = 0; i < n; ++i) {
      const float diff = this_scale * trial[i] + this_min - x[i];
      err += w[i] * (diff * diff);
    }
    if (err < best_err) {
      std::memcpy(L, trial, n);
      best_err = err;
      scale = this_scale;
      lo = this_min;
    }
  }
  *neg_min = -lo;
  return scale;
}

// Shared by Q4_K and Q5_K: fits the 8 sub-blocks, stores d/dmin and the 6-bit scales/mins in
// `b`, then requantizes each value against the scales as stored. L gets levels 0..nmax.
template <class Block>
void quantize_k_scales_and_levels(const float* x, Block* b, int nmax, float rmin, float rdelta, int nstep,
                                  uint8_t* L) {
  float scales[8], mins[8], w[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(xs[l]);  // favour large values
    scales[j] = fit_scale_min(32, nmax, xs, w, L + 32 * j, &mins[j], rmin, rdelta, nstep);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }

  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  std::memset(b->scales, 0, sizeof b->scales);
  for (int j = 0; j < 8; ++j) {
    const uint8_t ls = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
    const uint8_t lm = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
    if (j < 4) {
      b->scales[j] = ls;
      b->scales[j + 4] = lm;
    } else {
      b->scales[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4);
      b->scales[j - 4] |= (ls >> 4) << 6;
      b->scales[j] |= (lm >> 4) << 6;
    }
  }
  b->d = fp32_to_fp16(max_scale / 63.f);
  b->dmin = fp32_to_fp16(max_min / 63.f);

  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    unpack_scale_min_k4(j, b->scales, &sc, &m);
    const float d = fp16_to_fp32(b->d) * sc;
    if (!d) continue;  // keeps the levels of the fit
    const float dm = fp16_to_fp32(b->dmin) * m;
    for (int i = 0; i < 32; ++i)
      L[32 * j + i] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + i] + dm) / d), 0, nmax));
  }
}

void unpack_k_scales(uint16_t d16, uint16_t dmin16, const uint8_t* scales, UnpackedBlock& u) {
  const float d = fp16_to_fp32(d16), dmin = fp16_to_fp32(dmin16);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    unpack_scale_min_k4(j, scales, &sc, &m);
    u.scale[j] = d * sc;
    u.bias[j] = -(dmin * m);
  }
}

// --- Q4_K
void quantize_q4_k(const float* x, void* out) {
  auto* b = static_cast<BlockQ4_K*>(out);
  uint8_t L[kQK_K];
  quantize_k_scales_and_levels(x, b, 15, -1.0f, 0.1f, 20, L);
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) b->qs[32 * c + l] = L[64 * c + l] | (L[64 * c + l + 32] << 4);
}
void unpack_q4_k(const void* in, UnpackedBlock& u) {
  const auto* b = static_cast<const BlockQ4_K*>(in);
  unpack_k_scales(b->d, b->dmin, b->scales, u);
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) {
      u.q[64 * c + l] = static_cast<int8_t>(b->qs[32 * c + l] & 0xF);
      u.q[64 * c + l + 32] = static_cast<int8_t>(b->qs[32 * c + l] >> 4);
    }
}

// --- Q5_K
void quantize_q5_k(const float* x, void* out) {
  auto* b = static_cast<BlockQ5_K*>(out);
  uint8_t L[kQK_K];
  quantize_k_scales_and_levels(x, b, 31, -0.5f, 0.1f, 15, L);
  std::memset(b->qh, 0, sizeof b->qh);
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) {
      const int lo = L[64 * c + l], hi = L[64 * c + l + 32];
      b->qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
      b->qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
    }
}
void unpack_q5_k(const void* in, UnpackedBlock& u) {
  const auto* b = static_cast<const BlockQ5_K*>(in);
  unpack_k_scales(b->d, b->dmin, b->scales, u);
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) {
      u.q[64 * c + l] = static_cast<int8_t>((b->qs[32 * c + l] & 0xF) | (((b->qh[l] >> (2 * c)) & 1) << 4));
      u.q[64 * c + l + 32] = static_cast<int8_t>((b->qs[32 * c + l] >> 4) | (((b->qh[l] >> (2 * c + 1)) & 1) << 4));
    }
}

// --- Q6_K
constexpr float kGroupMaxEps = 1e-15f;

// Symmetric fit of 16 values to levels -nmax..nmax-1 weighted by x^2: tries 19 scales around
// nmax / max and keeps the best least-squares one. L gets levels + nmax.
float fit_scale_symmetric(int n, int nmax, const float* x, int8_t* L) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.f;
  }
  auto level = [&](float iscale, int i) { return std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1); };
  // Least-squares sums for the levels of `iscale` (weights x^2).
  auto sums = [&](float iscale, float* sumlx, float* suml2) {
    *sumlx = *suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = level(iscale, i);
      const float w = x[i] * x[i];
      *sumlx += w * x[i] * l;
      *suml2 += w * l * l;
    }
  };
  float iscale = -nmax / max;
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(level(iscale, i) + nmax);
  float sumlx, suml2;
  sums(iscale, &sumlx, &suml2);
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sums(iscale, &sumlx, &suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(level(iscale, i) + nmax);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

void quantize_q6_k(const float* x, void* out) {
  auto* b = static_cast<BlockQ6_K*>(out);
  int8_t L[kQK_K];
  float scales[16];
  float max_scale = 0, max_abs_scale = 0;
  for (int s = 0; s < 16; ++s) {
    scales[s] = fit_scale_symmetric(16, 32, x + 16 * s, L + 16 * s);
    if (std::fabs(scales[s]) > max_abs_scale) {
      max_abs_scale = std::fabs(scales[s]);
      max_scale = scales[s];
    }
  }
  std::memset(b, 0, sizeof *b);
  if (max_abs_scale < kGroupMaxEps) return;  // all zero

  const float iscale = -128.f / max_scale;
  b->d = fp32_to_fp16(1 / iscale);
  for (int s = 0; s < 16; ++s) b->scales[s] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[s])));
  for (int s = 0; s < 16; ++s) {
    const float d = fp16_to_fp32(b->d) * b->scales[s];
    if (!d) continue;  // keeps the levels of the fit
    for (int i = 0; i < 16; ++i)
      L[16 * s + i] = static_cast<int8_t>(std::clamp(nearest_int(x[16 * s + i] / d), -32, 31) + 32);
  }
  // Each 128 values: ql[l] holds values l and l+64 (low/high nibble), ql[l+32] values l+32 and
  // l+96; qh[l] holds the top 2 bits of values l, l+32, l+64, l+96.
  for (int h = 0; h < 2; ++h) {
    const int8_t* Lh = L + 128 * h;
    uint8_t* ql = b->ql + 64 * h;
    uint8_t* qh = b->qh + 32 * h;
    for (int l = 0; l < 32; ++l) {
      ql[l] = static_cast<uint8_t>((Lh[l] & 0xF) | ((Lh[l + 64] & 0xF) << 4));
      ql[l + 32] = static_cast<uint8_t>((Lh[l + 32] & 0xF) | ((Lh[l + 96] & 0xF) << 4));
      qh[l] = static_cast<uint8_t>((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) |
                                   ((Lh[l + 96] >> 4) << 6));
    }
  }
}
void unpack_q6_k(const void* in, UnpackedBlock& u) {
  const auto* b = static_cast<const BlockQ6_K*>(in);
  const float d = fp16_to_fp32(b->d);
  for (int s = 0; s < 16; ++s) u.scale[s] = d * b->scales[s];
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = b->ql + 64 * h;
    const uint8_t* qh = b->qh + 32 * h;
    int8_t* q = u.q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      q[l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
      q[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
      q[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      q[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
    }
  }
}

constexpr BlockCodec kQ4_K{kQK_K, 32, true, unpack_q4_k, quantize_q4_k};
constexpr BlockCodec kQ5_K{kQK_K, 32, true, unpack_q5_k, quantize_q5_k};
constexpr BlockCodec kQ6_K{kQK_K, 16, false, unpack_q6_k, quantize_q6_k};

}  // namespace

const BlockCodec* kquant_codec(TensorType type) {
  switch (type) {
    case TensorType::Q4_K: return &kQ4_K;
    case TensorType::Q5_K: return &kQ5_K;
    case TensorType::Q6_K: return &kQ6_K;
    default: return nullptr;
  }
}

}  // namespace citadel::quant_detail
