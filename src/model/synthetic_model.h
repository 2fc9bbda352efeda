// Random-weight GGUF models of real shapes. Speed does not depend on the weight values, so a
// 7B-shaped file made here benchmarks like the real one; small shapes of each architecture let
// tests compare the forward pass with other implementations. Deterministic for a given seed.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/quant_mix.h"

namespace citadel {

struct ModelShape {
  const char* name;
  const char* arch;  // llama, qwen2, qwen3, falcon
  int64_t n_embd, n_layer, n_head, n_head_kv;
  int64_t head_dim;  // 0: n_embd / n_head
  int64_t n_ff, n_vocab, n_ctx;
  bool tied_output;
  bool falcon_norm2;  // Falcon-40B's separate attention norm (attn_norm_2)
};

const ModelShape* find_model_shape(const std::string& name);  // nullptr if unknown
std::vector<std::string> model_shape_names();

struct SynthOptions {
  FileType type{"f32", TensorType::F32};
  uint64_t seed = 42;
  // Standard deviations of normal weights (0: the default, uniform values of scale 1/sqrt(cols)
  // that keep activations O(1)). Larger ones make the large attention scores and activations of
  // trained models, for tests of numerical range.
  float matrix_std = 0;     // every 2-D weight but the embeddings and the output head
  float embedding_std = 0;  // token_embd and output
  std::string vocab_from;  // copy tokenizer.* metadata from this GGUF (else a synthetic SPM vocabulary)
  std::function<void(size_t done, size_t total)> progress;  // tensors written
};

// Writes the model to `path`; returns the file's tensor bytes.
size_t write_synthetic_model(const ModelShape& shape, const SynthOptions& options, const std::string& path,
                             ThreadPool& pool);

}  // namespace citadel
