// "Will it fit, and how fast will it be?": memory, device count and decode speed of a model
// served for a number of concurrent users at a context length on a kind of device.
//
// Inputs: a model's shape (capacity_plan_model.h), a quantization, context, users, a device
// (hardware_catalog.h). Outputs: bytes (weights, KV cache, activations, runtime overhead), how
// many devices, tokens/s per user and in total, and the assumptions behind each figure.
// Every speed is an estimate from memory bandwidth and FLOPs, not a measurement.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor_type.h"
#include "engine/capacity_plan_model.h"
#include "engine/hardware_catalog.h"

namespace citadel {

struct PlanRequest {
  std::string quant;            // "" = as the model is stored (GGUF), else f16 for presets / config.json
  int64_t context = 0;          // tokens per user; 0 = min(4096, the model's trained context)
  int64_t users = 16;           // sequences decoded together
  DeviceSpec device;
  TensorType kv_type = TensorType::F16;
  double min_tokens_per_second = 10;  // per user: "real time" is faster than people read (~5 words/s)
  int64_t prefill_chunk = 512;        // prompt tokens processed in one step (sizes activations)
};

struct Plan {
  std::string quant;           // scheme used ("f16", "q4_k_m", "as stored (q8_0)")
  int64_t n_params = 0;
  double bits_per_weight = 0;
  int64_t context = 0;
  int64_t users = 0;

  uint64_t weights_bytes = 0;
  uint64_t resident_weights_bytes = 0;  // in device memory: all on GPUs; on CPUs less the mapped embedding
  uint64_t kv_bytes_per_token = 0;   // 2 x layers x kv_heads x head_dim x element bytes
  uint64_t kv_cache_bytes = 0;       // x context x users
  uint64_t activation_bytes = 0;     // per device: scratch of one step + logits
  uint64_t overhead_bytes = 0;       // per device: runtime (driver context, workspaces, process)
  uint64_t total_bytes = 0;          // resident weights + KV + devices x (activations + overhead)
  uint64_t disk_bytes = 0;           // the model file

  int devices = 0;                   // of the requested kind
  int devices_for_memory = 0;        // before rounding for tensor parallelism and speed
  uint64_t memory_per_device_bytes = 0;  // what each device holds
  uint64_t usable_per_device_bytes = 0;
  bool fits = true;                  // false when no device count up to the limit holds it

  double decode_step_seconds = 0;
  double tokens_per_second_per_user = 0;
  double tokens_per_second_total = 0;
  bool compute_bound = false;
  double prefill_tokens_per_second = 0;
  double time_to_first_token_seconds = 0;  // for a prompt filling the context

  std::vector<std::string> assumptions;
  std::vector<std::string> warnings;
};

// Throws std::invalid_argument for impossible requests (no users, context <= 0, bad quant).
Plan plan_capacity(const ModelShape& model, const PlanRequest& request);

// The largest device count a plan will consider.
constexpr int kMaxPlanDevices = 64;

}  // namespace citadel
