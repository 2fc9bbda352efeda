// Internal to core/quant*: how each block type is read and written. A block is unpacked into
// small integers with one scale (and, for the types with a min, one bias) per sub-block, so
// dequantization and dot products are written once for all types.
#pragma once
#include <cstdint>

#include "core/tensor_type.h"

namespace citadel::quant_detail {

struct UnpackedBlock {
  int8_t q[256];      // the quantized values, already centred (e.g. nibble - 8 for Q4_0)
  float scale[16];    // value = scale[s] * q (+ bias[s]) for sub-block s
  float bias[16];
};

struct BlockCodec {
  int block_size;  // values per block
  int sub_size;    // values per sub-block (one scale each)
  bool has_bias;
  void (*unpack)(const void* block, UnpackedBlock& out);
  void (*quantize)(const float* x, void* block);  // block_size floats -> one block
};

// nullptr when the type is not one of theirs.
const BlockCodec* legacy_codec(TensorType type);  // Q4_0 Q4_1 Q5_0 Q5_1 Q8_0
const BlockCodec* kquant_codec(TensorType type);  // Q4_K Q5_K Q6_K

}  // namespace citadel::quant_detail
