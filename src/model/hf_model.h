// Hugging Face model folders (config.json, *.safetensors, tokenizer files) described in GGUF
// terms: config.json -> <arch>.* hyper-parameters, HF tensor names -> GGUF names (Llama Q/K rows
// reordered for adjacent-pair RoPE, as llama.cpp's converter does), Llama 3 rope_scaling ->
// rope_freqs factors, tokenizer.model / tokenizer.json -> tokenizer.ggml.*, the chat template.
// Families: llama, mistral (-> llama), qwen2, qwen3.
#pragma once
#include <memory>
#include <string>

#include "model/weight_source.h"

namespace citadel {

bool is_hf_folder(const std::string& path);  // a directory holding config.json

// Throws FormatError naming the unsupported model type, missing key or tensor.
std::unique_ptr<WeightSource> open_hf_folder(const std::string& dir);

}  // namespace citadel
