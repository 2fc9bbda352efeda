// Block formats of quantized tensors: conversion to and from float, and dot products.
// The layouts are those of the GGUF format (ggml's block_q4_0, block_q4_K, ...; see
// quant_blocks.h), so files from model hubs are read as they are. These are the reference
// (scalar) routines: exact, portable, the yardstick for faster kernels.
//
// Supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K. Every function
// throws std::invalid_argument for another type or when n is not a multiple of the block size.
#pragma once
#include <cstdint>

#include "core/fp16.h"  // fp16_to_fp32, fp32_to_fp16, bf16_to_fp32, fp32_to_bf16
#include "core/tensor_type.h"

namespace citadel {

// True for the types the functions below accept.
bool quant_supported(TensorType type);

// `n` values of `type` at `src` -> floats. n must be a multiple of the type's block size.
void dequantize_row(TensorType type, const void* src, float* dst, int64_t n);
// `n` floats -> `type` (reference quantizers, as ggml's *_ref functions: same bytes).
void quantize_row(TensorType type, const float* src, void* dst, int64_t n);
// Dot product of `n` values of `type` at `row` with the floats `x` (float sums per block,
// added in double).
float dot_row(TensorType type, const void* row, const float* x, int64_t n);

}  // namespace citadel
