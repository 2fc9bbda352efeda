// Float matrix products over the thread pool, for what is float on both sides: LoRA adapters
// (small rank) and the backward pass of training. Row-major, contiguous; built on the kernel
// set's dot_rows / axpy_rows, in blocks so a slice of the right-hand matrix stays in cache while
// the rows of the left one pass over it. (Quantized weights go through core/matmul.h.)
#pragma once
#include <cstdint>

#include "core/thread_pool.h"

namespace citadel {

// C (n x m) = A (n x k) B^T, B given as m rows of k values.
void gemm_abt(const float* a, const float* b, float* c, int64_t n, int64_t m, int64_t k, ThreadPool& pool);
// C (n x m) += A (n x k) B, B given as k rows of m values.
void gemm_ab_acc(const float* a, const float* b, float* c, int64_t n, int64_t m, int64_t k, ThreadPool& pool);
// C (k x m) += A^T B, with A n rows of k values and B n rows of m values (a weight's gradient:
// output gradients^T times inputs).
void gemm_atb_acc(const float* a, const float* b, float* c, int64_t n, int64_t k, int64_t m, ThreadPool& pool);

}  // namespace citadel
