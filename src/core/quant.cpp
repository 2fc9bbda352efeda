#include "core/quant.h"

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

template <class Convert>
void load_floats(const void* src, float* dst, int64_t n, Convert convert) {
  const auto* h = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = convert(h[i]);
}

}  // namespace

bool quant_supported(TensorType type) { return is_float_type(type) || find_codec(type) != nullptr; }

void dequantize_row(TensorType type, const void* src, float* dst, int64_t n) {
  const BlockCodec* codec = checked_codec(type, n, "dequantize_row");
  if (!codec) {
    if (type == TensorType::F32) std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    if (type == TensorType::F16) load_floats(src, dst, n, fp16_to_fp32);
    if (type == TensorType::BF16) load_floats(src, dst, n, bf16_to_fp32);
    return;
  }
  const auto* block = static_cast<const uint8_t*>(src);
  const size_t block_bytes = type_traits(type).block_bytes;
  UnpackedBlock u;
  for (int64_t b = 0; b < n / codec->block_size; ++b, block += block_bytes, dst += codec->block_size) {
    codec->unpack(block, u);
    for (int i = 0; i < codec->block_size; ++i) {
      const int s = i / codec->sub_size;
      // The bias is added only where the format has one: adding +0 would turn -0 into +0.
      dst[i] = codec->has_bias ? u.scale[s] * u.q[i] + u.bias[s] : u.scale[s] * u.q[i];
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
  double sum = 0;
  if (!codec) {
    const auto* h = static_cast<const uint16_t*>(row);
    const auto* f = static_cast<const float*>(row);
    for (int64_t i = 0; i < n; ++i) {
      const float w = type == TensorType::F32 ? f[i] : type == TensorType::F16 ? fp16_to_fp32(h[i]) : bf16_to_fp32(h[i]);
      sum += static_cast<double>(w) * x[i];
    }
    return static_cast<float>(sum);
  }
  // Per sub-block: scale * sum(q * x) + bias * sum(x), so the scale is applied once.
  const auto* block = static_cast<const uint8_t*>(row);
  const size_t block_bytes = type_traits(type).block_bytes;
  UnpackedBlock u;
  for (int64_t b = 0; b < n / codec->block_size; ++b, block += block_bytes, x += codec->block_size) {
    codec->unpack(block, u);
    for (int s = 0; s < codec->block_size / codec->sub_size; ++s) {
      const int8_t* q = u.q + s * codec->sub_size;
      const float* xs = x + s * codec->sub_size;
      double qx = 0, sx = 0;
      for (int i = 0; i < codec->sub_size; ++i) {
        qx += static_cast<double>(q[i]) * xs[i];
        sx += xs[i];
      }
      sum += u.scale[s] * qx + (codec->has_bias ? u.bias[s] * sx : 0.0);
    }
  }
  return static_cast<float>(sum);
}

}  // namespace citadel
