// Element-wise and per-row operations of transformer layers, on float rows.
#pragma once
#include <cstdint>

namespace citadel {

// out = x / rms(x) * weight  (weight may be null: no scale)
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps);
// out = (x - mean) / std * weight + bias  (weight/bias may be null)
void layer_norm(const float* x, const float* weight, const float* bias, float* out, int64_t n, float eps);
void add(float* x, const float* y, int64_t n);  // x += y
// False when any of the n values is NaN or infinite (a model's logits: a NaN is never a token).
bool all_finite(const float* x, int64_t n);
float gelu(float x);  // tanh approximation, as ggml

enum class RopeStyle { Adjacent, NeoX };  // pairs (2i, 2i+1) as llama in GGUF, or (i, i + n/2)

// Rotary position embedding, in two halves so the angles of a position serve every head:
// rope_angles writes n_rot values (cos, sin of each rotated pair) for position `pos`;
// freq_factors (n_rot/2 values, may be null) divide each frequency, as Llama 3's rope_freqs.
// rope_rotate then turns the first n_rot values of one head by them.
void rope_angles(int64_t n_rot, int64_t pos, float theta_base, float freq_scale, const float* freq_factors,
                 float* cos_sin);
void rope_rotate(float* head, int64_t n_rot, const float* cos_sin, RopeStyle style);

}  // namespace citadel
