#include "core/ops.h"

#include <cmath>

namespace citadel {

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  float ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const float scale = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * (weight ? weight[i] : 1.0f);
}

void layer_norm(const float* x, const float* weight, const float* bias, float* out, int64_t n, float eps) {
  float mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<float>(n);
  float var = 0;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  const float scale = 1.0f / std::sqrt(var / static_cast<float>(n) + eps);
  for (int64_t i = 0; i < n; ++i) {
    float v = (x[i] - mean) * scale;
    if (weight) v *= weight[i];
    if (bias) v += bias[i];
    out[i] = v;
  }
}

void add(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

bool all_finite(const float* x, int64_t n) {
  // x - x is 0 for a finite x and NaN for NaN or +-inf; one compare per 8 values.
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    float acc = 0;
    for (int j = 0; j < 8; ++j) acc += x[i + j] - x[i + j];
    if (acc != 0) return false;
  }
  for (; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}


float gelu(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + 0.044715f * x * x)));
}

void rope_angles(int64_t n_rot, int64_t pos, float theta_base, float freq_scale, const float* freq_factors,
                 float* cos_sin) {
  // In double: at position 32768 a float angle is off by ~2e-3 rad, and this runs once per token
  // and layer, not per head.
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    double freq = std::pow(static_cast<double>(theta_base), -static_cast<double>(2 * i) / static_cast<double>(n_rot));
    if (freq_factors) freq /= freq_factors[i];
    const double angle = static_cast<double>(pos) * freq_scale * freq;
    cos_sin[2 * i] = static_cast<float>(std::cos(angle));
    cos_sin[2 * i + 1] = static_cast<float>(std::sin(angle));
  }
}

void rope_rotate(float* head, int64_t n_rot, const float* cos_sin, RopeStyle style) {
  const int64_t half = n_rot / 2;
  for (int64_t i = 0; i < half; ++i) {
    const float c = cos_sin[2 * i], s = cos_sin[2 * i + 1];
    const int64_t a = style == RopeStyle::Adjacent ? 2 * i : i;
    const int64_t b = style == RopeStyle::Adjacent ? 2 * i + 1 : i + half;
    const float x0 = head[a], x1 = head[b];
    head[a] = x0 * c - x1 * s;
    head[b] = x0 * s + x1 * c;
  }
}

}  // namespace citadel
