// Random-weight LLaVA-1.5 vision projectors (mmproj GGUF, llama.cpp's layout) of small or real
// shapes: tests and the llava-cli comparison need no download. Deterministic for a given seed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor_type.h"

namespace citadel {

struct ClipShape {
  const char* name;
  int64_t image_size, patch_size, n_embd, n_ff, n_head;
  int64_t n_layer;  // blocks in the file (the encoder runs all but the last)
  int64_t n_mid;    // the projector's hidden width
  int64_t n_proj;   // its output: the text model's n_embd
};

const ClipShape* find_clip_shape(const std::string& name);  // nullptr if unknown
std::vector<std::string> clip_shape_names();

// Writes the mmproj file; matrices of `type` (f32 or f16), norms, biases and embeddings f32.
void write_synthetic_mmproj(const ClipShape& shape, uint64_t seed, TensorType type, const std::string& path);

}  // namespace citadel
