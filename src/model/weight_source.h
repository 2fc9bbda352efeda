// A model read from a foreign format (a Hugging Face folder, a llama2.c checkpoint) described in
// GGUF terms: the metadata a GGUF of it carries, and for each tensor its GGUF name and shape with
// where its values come from. One description serves both uses: `citadel convert` writes it out
// as a GGUF file (write_gguf), and Model::load runs it in place (to_model_parts), so a folder and
// its converted file cannot disagree.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/gguf_writer.h"
#include "core/tensor_type.h"
#include "core/thread_pool.h"
#include "model/quant_mix.h"
#include "model/weights.h"

namespace citadel {

struct SourceTensor {
  std::string name;           // GGUF name
  std::vector<int64_t> ne;    // GGUF shape: ne[0] is the contiguous (row) dimension
  TensorType type = TensorType::F32;  // of the source bytes (F32, F16, BF16; any type from a GGUF)
  const uint8_t* data = nullptr;      // rows of ne[0] values
  // Llama Q/K from Hugging Face: > 0 undoes HF's rotary layout for this many heads, reordering rows
  // as llama.cpp's converter does so that RoPE rotates adjacent pairs.
  int64_t permute_heads = 0;

  int n_dims() const { return static_cast<int>(ne.size()); }
  int64_t cols() const { return ne.empty() ? 1 : ne[0]; }
  int64_t rows() const;
  size_t row_size() const { return row_bytes(type, cols()); }
  const uint8_t* row(int64_t r) const;          // source bytes of GGUF row r
  void row_f32(int64_t r, float* out) const;    // GGUF row r as f32
};

struct WeightSource {
  std::string description;    // "Hugging Face folder X", "llama2.c checkpoint Y"
  GgufWriter metadata;        // general.*, <arch>.*, tokenizer.ggml.* (no tensors)
  std::vector<SourceTensor> tensors;
  int n_layer = 0;
  std::vector<std::shared_ptr<const void>> keep_alive;  // mapped files, computed tensors

  // Data owned by the source (computed tensors such as rope_freqs).
  const uint8_t* own(std::vector<uint8_t> bytes);
  size_t source_bytes() const;
};

// A GGUF file as a source (for requantizing): its metadata and tensors, any type.
std::unique_ptr<WeightSource> open_gguf_source(const std::string& path);

// Writes `src` as a GGUF file with tensor types chosen by choose_tensor_type(ft, ...), setting
// general.file_type. Tensors already of their chosen type are copied as they are. `progress(done, total)` is called after each tensor. Returns tensor bytes.
size_t write_gguf(const WeightSource& src, const FileType& ft, const std::string& path, ThreadPool& pool,
                  const std::function<void(size_t, size_t)>& progress = {});

// What Model::load needs to run a source in place: the metadata as a parsed in-memory GGUF, and
// tensor views (straight over the source where its layout allows, else over converted copies).
struct ModelParts {
  std::unique_ptr<GgufFile> metadata;
  TensorMap tensors;
  size_t weight_bytes = 0;
  std::shared_ptr<const void> storage;  // keeps the mappings, the GGUF bytes and the copies alive
};
ModelParts to_model_parts(std::unique_ptr<WeightSource> src);

}  // namespace citadel
