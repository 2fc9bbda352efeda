// The forward and backward pass of the llama family (llama, qwen2, qwen3) for training: token
// embedding, RMSNorm, Q/K/V projections with their biases and per-head QK norms, RoPE, causal
// grouped-query attention, output projection, SwiGLU, final norm and LM head. Two modes:
//   LoRA: the base weights stay frozen (any type we load; quantized ones pass gradients through
//         their dequantized values, as QLoRA), the adapter's A and B matrices are trained;
//   full: a float copy of every weight is trained (distilling into a small student).
// The forward computes what Model::forward computes (same kernels for the projections), keeping
// the activations the backward needs; the backward adds d(loss)/d(parameter) to the gradients.
// Not thread-safe: one step at a time, spread over the pool.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/lora_adapter.h"
#include "model/model.h"
#include "train/loss.h"
#include "train/train_batch.h"

namespace citadel {

struct Param {
  std::string name;
  float* value;
  float* grad;
  int64_t size;
  bool decay;  // weight decay applies (matrices; not norms or biases)
};

class TrainableModel {
 public:
  // Throws std::invalid_argument for a model outside the llama family, or an adapter that does
  // not fit it.
  static std::unique_ptr<TrainableModel> lora(const Model& base, std::shared_ptr<LoraAdapter> adapter, ThreadPool& pool);
  static std::unique_ptr<TrainableModel> full(const Model& base, ThreadPool& pool);
  ~TrainableModel();

  // Forward and backward over the batch: gradients += grad_scale * d(sum of row losses)/d(param)
  // (grad_scale = 1 / scored rows of the whole step gives the mean). Returns the loss sums.
  LossSums train_step(const TrainBatch& batch, const LossWeights& w, float grad_scale);
  // Forward only.
  LossSums evaluate(const TrainBatch& batch, const LossWeights& w);
  // Logits of every row (rows x n_vocab), for tests and teachers.
  std::vector<float> logits(const TrainBatch& batch);

  std::vector<Param>& params() { return params_; }
  void zero_grad();
  const Model& base() const { return base_; }
  bool is_full() const { return full_ != nullptr; }
  const Weights& weights() const;  // what the forward uses (full mode: the trained copies)
  LoraAdapter* adapter() { return adapter_.get(); }
  // Bytes held besides the base model: trained copies, gradients, frozen backward copies.
  size_t extra_bytes() const;

 private:
  struct FullWeights;
  struct Impl;
  TrainableModel(const Model& base, ThreadPool& pool);
  LossSums run(const TrainBatch& batch, const LossWeights& w, float grad_scale, bool backward,
               std::vector<float>* all_logits);

  const Model& base_;
  ThreadPool& pool_;
  std::shared_ptr<LoraAdapter> adapter_;
  std::vector<std::array<std::vector<float>, 2 * kLoraTargetCount>> lora_grads_;  // per layer: dA, dB per target
  std::unique_ptr<FullWeights> full_;
  std::unique_ptr<Impl> impl_;
  std::vector<Param> params_;
};

}  // namespace citadel
