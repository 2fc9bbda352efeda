// Element types of model tensors, numbered as in the GGUF format (ggml_type).
// Block-quantized types store `block_size` values in `block_bytes` bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace citadel {

enum class TensorType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, BF16 = 30,
};

struct TypeTraits {
  const char* name;     // "f32", "q4_k", ...
  int64_t block_size;   // values per block (1 for plain types)
  size_t block_bytes;   // bytes per block
  bool supported;       // can be dequantized / multiplied by the kernels
};

// Traits of a GGUF type id; returns nullptr for ids this build does not know.
const TypeTraits* find_type_traits(uint32_t type_id);
// Traits of a known type (throws std::invalid_argument for unknown ones).
const TypeTraits& type_traits(TensorType type);
std::string type_name(TensorType type);
// Parses "q8_0", "Q4_K", "f16", ... ; throws std::invalid_argument if unknown.
TensorType parse_type_name(const std::string& name);
// Bytes used by `n` consecutive values; throws if n is not a multiple of the block size.
size_t row_bytes(TensorType type, int64_t n);

}  // namespace citadel
