// Weight-times-activation products, the bulk of inference time.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace citadel {

// For each of the n_tokens rows of `x` (each w.cols() floats, contiguous), computes
// y[t][r] = dot(w.row(r), x[t]) for every row r of w; y is n_tokens x w.rows(), contiguous.
// Work is split over the rows of w, so the weights are read once per call.
void matmul(const Tensor& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool);

// The same for several matrices that read the same x (Q, K and V; gate and up): x is quantized
// and interleaved once per activation format, and all their rows share one pass of the threads.
// Every w must have x's width; y[i] gets the product with w[i].
struct MatmulOut {
  const Tensor* w;
  float* y;
};
void matmul(const MatmulOut* outs, int count, const float* x, int64_t n_tokens, ThreadPool& pool);

// Copies row `r` of w (any supported type) into `out` as floats (embedding lookup).
void get_row(const Tensor& w, int64_t r, float* out);

}  // namespace citadel
