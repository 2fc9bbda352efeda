// Block formats of quantized tensors: conversion to and from float, and dot products.
// The layouts are those of the GGUF format (ggml's block_q4_0, block_q4_K, ...), so files from
// model hubs are read as they are. These are the reference (scalar) routines.
#pragma once
#include <cstdint>

#include "core/tensor_type.h"

namespace citadel {

float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);  // round to nearest even
float bf16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);  // round to nearest even

// `n` values of `type` at `src` -> floats. n must be a multiple of the type's block size.
void dequantize_row(TensorType type, const void* src, float* dst, int64_t n);
// `n` floats -> `type` (reference quantizers, as ggml's *_ref functions).
void quantize_row(TensorType type, const float* src, void* dst, int64_t n);
// Dot product of `n` values of `type` at `row` with the floats `x`.
float dot_row(TensorType type, const void* row, const float* x, int64_t n);

}  // namespace citadel
