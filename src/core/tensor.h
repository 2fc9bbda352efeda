// A view of a weight tensor: element type, shape and bytes owned elsewhere (usually the mmap).
#pragma once
#include <cstdint>
#include <string>

#include "core/tensor_type.h"

namespace citadel {

struct Tensor {
  std::string name;
  TensorType type = TensorType::F32;
  int64_t ne[4] = {1, 1, 1, 1};  // ne[0] is the contiguous (row) dimension
  const void* data = nullptr;
  bool rows8 = false;  // Q4_0 rows interleaved 8 at a time (core/repack.h): no row(), row_size() per row

  bool present() const { return data != nullptr; }
  int64_t cols() const { return ne[0]; }
  int64_t rows() const { return ne[1] * ne[2] * ne[3]; }
  size_t row_size() const { return row_bytes(type, ne[0]); }
  const uint8_t* row(int64_t r) const { return static_cast<const uint8_t*>(data) + r * row_size(); }
  // Valid only for F32 tensors (norm weights, biases).
  const float* f32() const { return static_cast<const float*>(data); }
};

}  // namespace citadel
