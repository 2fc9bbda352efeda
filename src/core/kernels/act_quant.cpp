#include "core/kernels/act_quant.h"

#include <cmath>
#include <cstring>

namespace citadel::kernels {
namespace {

// Round to nearest even for |v| < 2^22 without a libm call (nearbyint is one on baseline x86-64):
// adding 1.5 * 2^23 leaves no fraction bits, so the FPU's rounding does the work.
inline float round_even(float v) { return (v + 12582912.0f) - 12582912.0f; }

// Symmetric 8-bit fit of n values: returns d, writes q = round(x / d) in -127..127.
float quantize_symmetric(const float* x, int8_t* q, int n) {
  float amax = 0;
  for (int i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    amax = a > amax ? a : amax;
  }
  const float d = amax / 127.0f;
  const float id = d ? 1.0f / d : 0.0f;
  for (int i = 0; i < n; ++i) q[i] = static_cast<int8_t>(round_even(x[i] * id));
  return d;
}

}  // namespace

size_t act_row_bytes(ActFormat format, int64_t n) {
  switch (format) {
    case ActFormat::Q8_0: return static_cast<size_t>(n / 32) * sizeof(ActQ8_0);
    case ActFormat::Q8_K: return static_cast<size_t>(n / 256) * sizeof(ActQ8_K);
    default: return static_cast<size_t>(n) * sizeof(float);
  }
}

void quantize_act(ActFormat format, const float* x, void* out, int64_t n) {
  if (format == ActFormat::F32) {
    std::memcpy(out, x, static_cast<size_t>(n) * sizeof(float));
  } else if (format == ActFormat::Q8_0) {
    auto* b = static_cast<ActQ8_0*>(out);
    for (int64_t i = 0; i < n / 32; ++i, x += 32) {
      b[i].d = quantize_symmetric(x, b[i].qs, 32);
      int sum = 0;
      for (int j = 0; j < 32; ++j) sum += b[i].qs[j];
      b[i].s = b[i].d * static_cast<float>(sum);
    }
  } else {
    auto* b = static_cast<ActQ8_K*>(out);
    for (int64_t i = 0; i < n / 256; ++i, x += 256) {
      b[i].d = quantize_symmetric(x, b[i].qs, 256);
      for (int j = 0; j < 16; ++j) {
        int sum = 0;
        for (int l = 0; l < 16; ++l) sum += b[i].qs[16 * j + l];
        b[i].bsums[j] = static_cast<int16_t>(sum);
      }
    }
  }
}

namespace {

void pack_act_q8_0x8(const void* rows, size_t stride, int64_t n, ActQ8_0x8* out) {
  const auto* base = static_cast<const uint8_t*>(rows);
  for (int64_t b = 0; b < n / 32; ++b) {
    ActQ8_0x8& o = out[b];
    for (int t = 0; t < 8; ++t) {
      const ActQ8_0& a = reinterpret_cast<const ActQ8_0*>(base + t * stride)[b];
      o.d[t] = a.d;
      int sum = 0;
      for (int j = 0; j < 32; ++j) sum += a.qs[j];
      o.sum[t] = sum;
      for (int j = 0; j < 8; ++j) std::memcpy(o.qs + 32 * j + 4 * t, a.qs + 4 * j, 4);
    }
  }
}

void pack_act_q8_kx8(const void* rows, size_t stride, int64_t n, ActQ8_Kx8* out) {
  const auto* base = static_cast<const uint8_t*>(rows);
  for (int64_t b = 0; b < n / 256; ++b) {
    ActQ8_Kx8& o = out[b];
    for (int t = 0; t < 8; ++t) {
      const ActQ8_K& a = reinterpret_cast<const ActQ8_K*>(base + t * stride)[b];
      o.d[t] = a.d;
      for (int s = 0; s < 8; ++s) {
        o.msums[s / 2][2 * t + s % 2] = static_cast<int16_t>(a.bsums[2 * s] + a.bsums[2 * s + 1]);
        for (int j = 0; j < 8; ++j) std::memcpy(o.qs + 256 * s + 32 * j + 4 * t, a.qs + 32 * s + 4 * j, 4);
      }
    }
  }
}

}  // namespace

size_t act_group_bytes(ActFormat format, int64_t n) {
  switch (format) {
    case ActFormat::Q8_K: return static_cast<size_t>(n / 256) * sizeof(ActQ8_Kx8);
    case ActFormat::Q8_0: return static_cast<size_t>(n / 32) * sizeof(ActQ8_0x8);
    default: return static_cast<size_t>(n) * 8 * sizeof(float);
  }
}

void pack_act_x8(ActFormat format, const void* rows, size_t stride, int64_t n, void* out) {
  if (format == ActFormat::Q8_K) {
    pack_act_q8_kx8(rows, stride, n, static_cast<ActQ8_Kx8*>(out));
  } else if (format == ActFormat::Q8_0) {
    pack_act_q8_0x8(rows, stride, n, static_cast<ActQ8_0x8*>(out));
  } else {  // floats: value k of token t at 8k + t
    auto* o = static_cast<float*>(out);
    for (int t = 0; t < 8; ++t) {
      const auto* row = reinterpret_cast<const float*>(static_cast<const uint8_t*>(rows) + t * stride);
      for (int64_t k = 0; k < n; ++k) o[8 * k + t] = row[k];
    }
  }
}

}  // namespace citadel::kernels
