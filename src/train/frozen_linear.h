// The input gradient through a frozen weight matrix of any type we load: dx += dy W, with W
// (out x in) as the model holds it. F32 matrices are read as they are; F16 / BF16 get a
// transposed copy of their own type, and quantized ones (the QLoRA case) a transposed Q8_0 copy
// of their dequantized values, so the product runs on the fast matmul kernels of core/matmul.h
// (a quantized matrix whose row count is no multiple of 32 is kept as dequantized floats).
// Copies are made on first use and kept (one per matrix: memory about 1.1 bytes per weight).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace citadel {

class FrozenLinear {
 public:
  // dx (n x w.cols()) += dy (n x w.rows()) W.
  void backward(const Tensor& w, const float* dy, int64_t n, float* dx, ThreadPool& pool);
  size_t bytes() const;  // of the copies made so far

 private:
  struct Copy {
    Tensor wt;                 // transposed (in rows of out values), or empty when `dense` is used
    std::vector<uint8_t> bytes;
    std::vector<float> dense;  // dequantized, not transposed
  };
  Copy& copy_of(const Tensor& w, ThreadPool& pool);
  std::map<const void*, std::unique_ptr<Copy>> copies_;
  std::vector<float> tmp_;
};

}  // namespace citadel
