// A loaded model: hyper-parameters, weight views over the mapped file, and the forward pass of
// its architecture. Thread-safe for concurrent forward() calls on distinct KV caches.
#pragma once
#include <memory>
#include <vector>
#include <string>

#include "core/repack.h"
#include "core/thread_pool.h"
#include "model/batch.h"
#include "model/hparams.h"
#include "model/kv_cache.h"
#include "model/weights.h"

namespace citadel {

class GgufFile;
struct Architecture;

class Model {
 public:
  // Loads a GGUF file, or a Hugging Face folder (config.json + safetensors) run in place with an
  // in-memory GGUF of its metadata as gguf(). Throws FormatError naming the problem (unknown architecture, missing or
  // misshaped tensor, bad hyper-parameter) or std::runtime_error for I/O.
  static std::unique_ptr<Model> load(const std::string& path);
  ~Model();

  const HParams& hparams() const { return hp_; }
  const Weights& weights() const { return w_; }
  const GgufFile& gguf() const { return *file_; }  // metadata: tokenizer, chat template
  size_t weight_bytes() const;                      // bytes of all tensors in the file

  // Runs the batch: appends each token's K/V to `kv` at its position (reserve() first) and
  // writes batch.n_outputs() rows of n_vocab logits, in batch order, to `logits`. `hidden`, when
  // not null, gets the final-normed hidden state of every batch token (batch.size() x n_embd).
  // A batch of more than 512 tokens runs as consecutive micro-batches of 512, in order.
  void forward(const Batch& batch, KvCache& kv, ThreadPool& pool, float* logits, float* hidden = nullptr) const;

 private:
  Model() = default;
  void prepare_matrices();  // Q4_0 re-laid 8 rows at a time, F16/BF16 in huge pages (core/repack.h)
  std::unique_ptr<GgufFile> file_;
  std::shared_ptr<const void> storage_;  // a folder's mappings and converted tensors
  size_t weight_bytes_ = 0;
  HParams hp_;
  Weights w_;
  const Architecture* arch_ = nullptr;
  std::vector<HugePageBuffer> repacked_;  // the re-laid and copied matrices' bytes
};

}  // namespace citadel
