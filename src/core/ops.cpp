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


float gelu(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + 0.044715f * x * x)));
}

void rope_angles(int64_t n_rot, int64_t pos, float theta_base, float freq_scale, const float* freq_factors,
                 float* cos_sin) {
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    float freq = 1.0f / std::pow(theta_base, static_cast<float>(2 * i) / static_cast<float>(n_rot));
    if (freq_factors) freq /= freq_factors[i];
    const float angle = static_cast<float>(pos) * freq_scale * freq;
    cos_sin[2 * i] = std::cos(angle);
    cos_sin[2 * i + 1] = std::sin(angle);
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
