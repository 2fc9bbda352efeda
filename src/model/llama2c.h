// llama2.c checkpoints (Karpathy's run.c format) described in GGUF terms, as llama.cpp's
// convert-llama2c-to-ggml writes them:
//  - legacy: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a
//    negative vocab_size means an unshared classifier), then fp32 weights grouped by kind across
//    layers, the RoPE tables, and the classifier if unshared;
//  - v1: magic "ak42", version 1, the same 7 int32, a shared-classifier byte, padding to 256 bytes,
//    then the norms first, the embeddings, the per-kind matrices, and the classifier if unshared.
// tokenizer.bin: max token length, then for each token a float score, an int32 length and bytes.
#pragma once
#include <memory>
#include <string>

#include "model/weight_source.h"

namespace citadel {

bool is_llama2c_checkpoint(const std::string& path);  // the v1 magic, or a plausible legacy header

// Throws FormatError when the header is implausible, the file too short or the vocabularies differ.
std::unique_ptr<WeightSource> open_llama2c(const std::string& checkpoint_path, const std::string& tokenizer_path);

}  // namespace citadel
