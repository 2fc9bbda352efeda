#include "core/quant.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "core/quant_codec.h"

namespace citadel {
namespace {

using quant_detail::BlockCodec;
using quant_detail::UnpackedBlock;

bool is_float_type(TensorType t) { return t == TensorType::F32 || t == TensorType::F16 || t == TensorType::BF16; }

const BlockCodec* find_codec(TensorType t) {
  if (const BlockCodec* c = quant_detail::legacy_codec(t)) return c;
  return quant_detail::kquant_codec(t);
}

// Checks the type and the length; returns the block codec (nullptr for the float types).
const BlockCodec* checked_codec(TensorType type, int64_t n, const char* what) {
  const BlockCodec* codec = find_codec(type);
  if (!codec && !is_float_type(type))
    throw std::invalid_argument(std::string(what) + ": unsupported tensor type " + type_name(type));
  row_bytes(type, n);  // throws unless n is a non-negative multiple of the block size
  return codec;
}

// Sums in 8 independent float lanes (a fixed order, so results are reproducible) that the
// compiler can keep in vector registers; a serial sum would be bound by add latency.
template <class Load>
float lane_dot(Load w, const float* x, int n) {
  float acc[8] = {};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += w(i + l) * x[i + l];
  for (; i < n; ++i) acc[0] += w(i) * x[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

float sum_floats(const float* x, int n) {
  return lane_dot([](int) { return 1.0f; }, x, n);
}

// Dot product of a plain float row, in chunks of 256 whose sums are added in double.
template <class Load>
float dot_plain(Load w, const float* x, int64_t n) {
  double sum = 0;
  for (int64_t i0 = 0; i0 < n; i0 += 256) {
    const int len = static_cast<int>(std::min<int64_t>(256, n - i0));
    sum += lane_dot([&](int i) { return w(i0 + i); }, x + i0, len);
  }
  return static_cast<float>(sum);
}

}  // namespace

bool quant_supported(TensorType type) { return is_float_type(type) || find_codec(type) != nullptr; }

void dequantize_row(TensorType type, const void* src, float* dst, int64_t n) {
  const BlockCodec* codec = checked_codec(type, n, "dequantize_row");
  if (!codec) {
    if (type == TensorType::F32) std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    const auto* h = static_cast<const uint16_t*>(src);
    if (type == TensorType::F16)
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
    if (type == TensorType::BF16)
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
    return;
  }
  const auto* block = static_cast<const uint8_t*>(src);
  const size_t block_bytes = type_traits(type).block_bytes;
  UnpackedBlock u;
  for (int64_t b = 0; b < n / codec->block_size; ++b, block += block_bytes, dst += codec->block_size) {
    codec->unpack(block, u);
    for (int s = 0, i0 = 0; i0 < codec->block_size; ++s, i0 += codec->sub_size) {
      // The bias is added only where the format has one: adding +0 would turn -0 into +0.
      if (codec->has_bias)
        for (int i = i0; i < i0 + codec->sub_size; ++i) dst[i] = u.scale[s] * u.q[i] + u.bias[s];
      else
        for (int i = i0; i < i0 + codec->sub_size; ++i) dst[i] = u.scale[s] * u.q[i];
    }
  }
}

void quantize_row(TensorType type, const float* src, void* dst, int64_t n) {
  const BlockCodec* codec = checked_codec(type, n, "quantize_row");
  if (!codec) {
    auto* h = static_cast<uint16_t*>(dst);
    if (type == TensorType::F32) std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    if (type == TensorType::F16)
      for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
    if (type == TensorType::BF16)
      for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
    return;
  }
  auto* block = static_cast<uint8_t*>(dst);
  const size_t block_bytes = type_traits(type).block_bytes;
  for (int64_t b = 0; b < n / codec->block_size; ++b, block += block_bytes, src += codec->block_size)
    codec->quantize(src, block);
}

float dot_row(TensorType type, const void* row, const float* x, int64_t n) {
  const BlockCodec* codec = checked_codec(type, n, "dot_row");
  if (!codec) {
    const auto* h = static_cast<const uint16_t*>(row);
    if (type == TensorType::F16) return dot_plain([h](int64_t i) { return fp16_to_fp32(h[i]); }, x, n);
    if (type == TensorType::BF16) return dot_plain([h](int64_t i) { return bf16_to_fp32(h[i]); }, x, n);
    const auto* f = static_cast<const float*>(row);
    return dot_plain([f](int64_t i) { return f[i]; }, x, n);
  }
  // Per sub-block: scale * sum(q * x) + bias * sum(x), so the scale is applied once.
  const auto* block = static_cast<const uint8_t*>(row);
  const size_t block_bytes = type_traits(type).block_bytes;
  const int sub = codec->sub_size;
  double sum = 0;
  UnpackedBlock u;
  for (int64_t b = 0; b < n / codec->block_size; ++b, block += block_bytes, x += codec->block_size) {
    codec->unpack(block, u);
    float block_sum = 0;
    for (int s = 0; s * sub < codec->block_size; ++s) {
      const int8_t* q = u.q + s * sub;
      const float* xs = x + s * sub;
      block_sum += u.scale[s] * lane_dot([q](int i) { return static_cast<float>(q[i]); }, xs, sub);
      if (codec->has_bias) block_sum += u.bias[s] * sum_floats(xs, sub);
    }
    sum += block_sum;
  }
  return static_cast<float>(sum);
}

}  // namespace citadel
