// A plain forward pass in double precision, the yardstick for the engine's (llama2.c's shape: the
// whole transformer in one readable function). It shares nothing with the engine but the GGUF
// reader and the block formats' dequantization (core/quant.h): no kernels, no matmul, no KV
// paging, no threads, its own norms, RoPE, softmax and activations. Slow and obviously right.
//
// Architectures: llama (GQA, untied output, rope_freqs), qwen2 (Q/K/V biases), qwen3 (per-head
// QK norms, head size from key_length), falcon (7B: one norm, MQA; 40B: two norms, GQA).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace citadel::test {

struct ReferenceOptions {
  // Quantize matmul inputs as the engine's quantized weight types define their product: 8-bit
  // symmetric blocks (32 values for Q4_0/Q8_0/..., 256 for the K types), round to nearest even.
  // Off: float inputs, the exact product with the dequantized weights.
  bool quantize_activations = true;
  bool kv_f16 = false;  // K and V rounded to half precision as an f16 KV cache stores them
};

class ReferenceModel {
 public:
  explicit ReferenceModel(const std::string& gguf_path, ReferenceOptions options = {});
  ~ReferenceModel();
  ReferenceModel(const ReferenceModel&) = delete;
  ReferenceModel& operator=(const ReferenceModel&) = delete;

  // Runs `token` at the next position (0, 1, ...) and returns its n_vocab logits.
  std::vector<double> step(int32_t token);
  int64_t n_vocab() const;

 private:
  struct Impl;
  Impl* impl_;
};

// RoPE of one head as the reference computes it (exposed for the kernel tests at far positions):
// pairs (2i, 2i+1) (adjacent, llama) or (i, i + n_rot/2) (neox), angle pos * scale / freq_factor_i
// * base^(-2i / n_rot).
void reference_rope(double* head, int64_t n_rot, int64_t pos, double base, double freq_scale,
                    const float* freq_factors, bool neox);

}  // namespace citadel::test
