// Hyper-parameters of a transformer, read from GGUF metadata ("<arch>.block_count", ...).
#pragma once
#include <cstdint>
#include <string>

#include "core/ops.h"

namespace citadel {

class GgufFile;

struct HParams {
  std::string arch;          // general.architecture: llama, qwen2, qwen3, falcon
  std::string name;          // general.name, if any
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;      // attention.key_length (may differ from n_embd / n_head, as Qwen3)
  int64_t head_dim_v = 0;    // attention.value_length
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;
  int64_t n_rot = 0;         // rope.dimension_count
  float norm_eps = 1e-5f;    // RMS norm eps (llama family) or LayerNorm eps (falcon)
  float rope_theta = 10000.0f;
  float rope_freq_scale = 1.0f;  // 1 / rope.scaling.factor for linear scaling
  RopeStyle rope_style = RopeStyle::Adjacent;

  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }
  int64_t v_dim() const { return n_head_kv * head_dim_v; }

  // Reads and validates; throws FormatError naming the missing or inconsistent key.
  static HParams from_gguf(const GgufFile& f);
};

}  // namespace citadel
