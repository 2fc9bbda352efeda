// Which tensor type each tensor of a model gets for a requested file type ("q4_k_m", "q8_0",
// ...), as llama.cpp's quantizer chooses: norms and other 1-D tensors stay f32; Q4_K_M / Q5_K_M
// give the output head, and attn_v / ffn_down of selected layers, Q6_K; rows whose length is not
// a multiple of the block size fall back to a type whose block fits (or f16).
#pragma once
#include <string>

#include "core/tensor_type.h"

namespace citadel {

struct FileType {
  std::string name;     // "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k_m", "q5_k_m", "q6_k"
  TensorType base;      // the type of most 2-D tensors
};

// Throws std::invalid_argument listing the accepted names.
FileType parse_file_type(const std::string& name);
// GGUF general.file_type value (llama_ftype) for the file type.
int gguf_file_type_id(const FileType& ft);

// The type for tensor `name` with `cols` values per row and `n_dims` dimensions.
TensorType choose_tensor_type(const FileType& ft, const std::string& name, int64_t cols, int n_dims, int n_layer);

}  // namespace citadel
