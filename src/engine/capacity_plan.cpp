#include "engine/capacity_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "engine/capacity_plan_quant.h"

namespace citadel {
namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;
// Latency of one small all-reduce over NVLink; tensor parallelism needs two per block per step.
constexpr double kAllReduceSeconds = 10e-6;
// Host memory of a loaded vocabulary per token (strings, lookup tables), measured on citadel.
constexpr uint64_t kTokenizerBytesPerToken = 320;

std::string fmt(const char* f, double a, double b = 0, double c = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c);
  return buf;
}

// Tensor parallelism splits heads: the count must divide the query heads, and either divide the
// key/value heads or be a multiple of them (then KV heads are replicated), as vLLM requires.
bool valid_parallel_count(const ModelShape& m, int n) {
  if (n == 1) return true;
  return m.n_heads % n == 0 && (m.n_kv_heads % n == 0 || n % m.n_kv_heads == 0);
}

struct StepCost {
  double seconds = 0;
  bool compute_bound = false;
};

struct Sizes {
  uint64_t weights = 0, kv = 0, activations = 0, overhead = 0;
  uint64_t streamed = 0;  // weights read every decode step: all but an untied embedding (one row per token)
  uint64_t resident = 0;  // weights held in memory: on CPUs the mapped embedding pages in row by row
};

// Bytes one device holds when the model is split over n of them.
uint64_t per_device_bytes(const ModelShape& m, const Sizes& s, int n) {
  const int kv_shards = static_cast<int>(std::min<int64_t>(n, m.n_kv_heads));
  return s.resident / n + s.kv / kv_shards + s.activations + s.overhead;
}

// One decode step (one token for every user): the weights and every user's KV cache are read once
// (memory-bound), and 2 FLOPs per weight per user plus attention are computed (compute-bound).
StepCost decode_step(const ModelShape& m, const Sizes& s, const DeviceSpec& d, int n, int64_t matmul_params,
                     int64_t context, int64_t users) {
  const int kv_shards = static_cast<int>(std::min<int64_t>(n, m.n_kv_heads));
  const double bytes = static_cast<double>(s.streamed) / n + static_cast<double>(s.kv) / kv_shards;
  const double t_mem = bytes / (d.bandwidth * d.bandwidth_efficiency);
  const double attn_flops = 4.0 * m.n_layers * context * m.n_heads * m.head_dim;
  const double flops = users * (2.0 * matmul_params + attn_flops);
  const double t_comp = flops / (n * d.flops * d.flops_efficiency);
  const double t_sync = n > 1 && d.is_gpu ? 2.0 * m.n_layers * kAllReduceSeconds : 0;
  const double t_fixed = m.n_layers * d.step_overhead_per_layer;
  return {std::max(t_mem, t_comp) + t_sync + t_fixed, t_comp > t_mem};
}

uint64_t activation_bytes(const ModelShape& m, int64_t context, int64_t users, int64_t chunk) {
  const double tokens = static_cast<double>(std::max(users, std::min(chunk, context)));
  const double q_chunk = static_cast<double>(std::min(chunk, context));
  const double hidden = tokens * m.d_model * 4 * 4;  // input, residual, normed, attention out (f32)
  const double qkv = tokens * (m.n_heads + 2 * m.n_kv_heads) * m.head_dim * 4;
  const double ffn = tokens * m.ffn_dim * 4 * (m.gated_ffn ? 2 : 1);
  const double scores = q_chunk * context * m.n_heads * 4;  // attention scores of a prompt chunk
  const double logits = static_cast<double>(users) * m.vocab * 4;
  return static_cast<uint64_t>(hidden + qkv + ffn + scores + logits);
}

}  // namespace

Plan plan_capacity(const ModelShape& model, const PlanRequest& req) {
  validate_shape(model);
  if (req.users <= 0) throw std::invalid_argument("users must be at least 1");
  if (req.context < 0) throw std::invalid_argument("context must be positive");
  if (req.prefill_chunk <= 0) throw std::invalid_argument("prefill chunk must be positive");
  const DeviceSpec& dev = req.device;
  if (dev.memory_bytes == 0 || dev.bandwidth <= 0 || dev.flops <= 0)
    throw std::invalid_argument("device '" + dev.name + "' needs memory, bandwidth and FLOPs figures");

  Plan p;
  const auto tensors = weight_tensors(model);
  p.n_params = parameter_count(tensors);
  p.users = req.users;
  p.context = req.context > 0 ? req.context : std::min<int64_t>(4096, model.context_length);
  if (p.context > model.context_length)
    p.warnings.push_back(fmt("context %.0f exceeds the model's trained context of %.0f tokens: quality may suffer",
                             static_cast<double>(p.context), static_cast<double>(model.context_length)));

  // Weights: exact bytes of the file when planning "as stored", else the scheme applied per tensor.
  bool stored = req.quant.empty() && !model.tensors.empty();
  for (const auto& t : model.tensors) stored = stored && t.stored_bytes > 0;
  Sizes s;
  uint64_t embedding = 0;  // bytes of an untied token embedding
  if (stored) {
    for (const auto& t : model.tensors) {
      s.weights += t.stored_bytes;
      if (t.role == WeightRole::TokenEmbedding && !model.tied_embeddings) embedding += t.stored_bytes;
    }
    p.quant = "as stored (" + (model.stored_type.empty() ? std::string("file") : model.stored_type) + ")";
    p.assumptions.push_back("weights: exact tensor bytes of the model file");
  } else {
    const QuantScheme q = parse_quant(req.quant.empty() ? "f16" : req.quant);
    s.weights = quantized_weight_bytes(q, tensors, model.n_layers);
    for (const auto& t : tensors)
      if (t.role == WeightRole::TokenEmbedding && !model.tied_embeddings)
        embedding += type_bytes(tensor_type_for(q, t, model.n_layers), t.n_elements);
    p.quant = q.name;
    p.assumptions.push_back("weights: parameters x bytes per weight of " + q.name +
                            (q.k_mix ? " (llama.cpp mix: output and 1/2 of attn_v/ffn_down in q6_k)" : "") +
                            "; norms and biases stay f32");
  }
  p.weights_bytes = s.weights;
  s.streamed = s.weights - embedding;
  s.resident = dev.is_gpu ? s.weights : s.weights - embedding;
  p.resident_weights_bytes = s.resident;
  if (!dev.is_gpu && embedding)
    p.assumptions.push_back(fmt("resident memory: the %.1f MiB token embedding stays memory-mapped and pages in one row per "
                                "token, so it is counted on disk, not in RAM", static_cast<double>(embedding) / (1 << 20)));
  p.bits_per_weight = p.n_params > 0 ? 8.0 * static_cast<double>(s.weights) / static_cast<double>(p.n_params) : 0;

  // KV cache: K and V, every block, every KV head, every position of every user.
  p.kv_bytes_per_token = 2 * static_cast<uint64_t>(model.n_layers) * type_bytes(req.kv_type, model.n_kv_heads * model.head_dim);
  p.kv_cache_bytes = p.kv_bytes_per_token * static_cast<uint64_t>(p.context) * static_cast<uint64_t>(p.users);
  s.kv = p.kv_cache_bytes;
  p.assumptions.push_back(fmt("KV cache: 2 x %.0f layers x %.0f KV heads x %.0f head dim", static_cast<double>(model.n_layers),
                              static_cast<double>(model.n_kv_heads), static_cast<double>(model.head_dim)) +
                          " x " + type_name(req.kv_type) + " x context x users, every context full");

  s.activations = activation_bytes(model, p.context, p.users, req.prefill_chunk);
  // CPU serving holds the tokenizer's tables in the same RAM (measured: about 320 bytes per token).
  s.overhead = dev.runtime_overhead_bytes + (dev.is_gpu ? 0 : static_cast<uint64_t>(model.vocab) * kTokenizerBytesPerToken);
  p.activation_bytes = s.activations;
  p.overhead_bytes = s.overhead;
  p.assumptions.push_back(fmt("activations: one step of %.0f tokens in f32 plus logits for every user; runtime overhead %.2f GiB per device",
                              static_cast<double>(std::max(p.users, std::min(req.prefill_chunk, p.context))),
                              static_cast<double>(s.overhead) / kGiB));

  // Devices: enough memory first, then a count tensor parallelism can use, then enough speed.
  p.usable_per_device_bytes = static_cast<uint64_t>(static_cast<double>(dev.memory_bytes) * dev.usable_fraction);
  p.assumptions.push_back(fmt("usable memory: %.0f%% of each device's %.1f GiB", dev.usable_fraction * 100,
                              static_cast<double>(dev.memory_bytes) / kGiB));
  const uint64_t room = p.usable_per_device_bytes > s.activations + s.overhead
                            ? p.usable_per_device_bytes - s.activations - s.overhead : 0;
  const double need = room ? std::ceil(static_cast<double>(s.resident + s.kv) / static_cast<double>(room)) : 1e9;
  p.devices_for_memory = static_cast<int>(std::min<double>(need, kMaxPlanDevices + 1));

  int64_t matmul_params = 0;
  for (const auto& t : tensors)
    if (t.role != WeightRole::TokenEmbedding && t.role != WeightRole::Vector) matmul_params += t.n_elements;
  auto fits_on = [&](int n) { return per_device_bytes(model, s, n) <= p.usable_per_device_bytes; };
  auto usable_count = [&](int n) { return (!dev.is_gpu || valid_parallel_count(model, n)) && fits_on(n); };

  int n = std::max(1, p.devices_for_memory);
  while (n <= kMaxPlanDevices && !usable_count(n)) ++n;
  if (n > kMaxPlanDevices) {
    p.fits = false;
    n = std::min(std::max(1, p.devices_for_memory), kMaxPlanDevices);
    p.warnings.push_back(fmt("does not fit on %.0f devices of this kind: use a smaller quantization, context or fewer users",
                             kMaxPlanDevices));
  } else if (n != p.devices_for_memory && dev.is_gpu) {
    p.assumptions.push_back(fmt("tensor parallelism: %.0f devices hold the memory, rounded up to %.0f so that they divide the attention heads",
                                p.devices_for_memory, n));
  }
  StepCost step = decode_step(model, s, dev, n, matmul_params, p.context, p.users);
  if (p.fits && 1.0 / step.seconds < req.min_tokens_per_second) {
    int faster = 0;
    for (int m = n + 1; dev.is_gpu && m <= kMaxPlanDevices && !faster; ++m)
      if (usable_count(m) && 1.0 / decode_step(model, s, dev, m, matmul_params, p.context, p.users).seconds >= req.min_tokens_per_second)
        faster = m;
    if (faster) {
      p.assumptions.push_back(fmt("real time: %.0f devices would give %.1f tokens/s per user, below the %.0f wanted; using more",
                                  n, 1.0 / step.seconds, req.min_tokens_per_second));
      n = faster;
      step = decode_step(model, s, dev, n, matmul_params, p.context, p.users);
    } else {
      p.warnings.push_back(fmt("%.1f tokens/s per user is below the real-time target of %.0f; more devices of this kind do not reach it",
                               1.0 / step.seconds, req.min_tokens_per_second));
    }
  }
  p.devices = n;
  p.memory_per_device_bytes = per_device_bytes(model, s, n);
  p.total_bytes = s.resident + s.kv + static_cast<uint64_t>(n) * (s.activations + s.overhead);

  p.decode_step_seconds = step.seconds;
  p.compute_bound = step.compute_bound;
  p.tokens_per_second_per_user = 1.0 / step.seconds;
  p.tokens_per_second_total = static_cast<double>(p.users) / step.seconds;
  p.assumptions.push_back(fmt("decode speed is an estimate: each step reads the weights (but the embedding) and every user's KV cache once at %.0f%% of "
                              "peak bandwidth (%.0f GB/s), or computes 2 FLOPs per weight per user at %.0f%% of peak",
                              dev.bandwidth_efficiency * 100, dev.bandwidth / 1e9, dev.flops_efficiency * 100) +
                          fmt(" (%.0f TFLOPS), whichever is slower", dev.flops / 1e12) +
                          (n > 1 && dev.is_gpu ? ", plus two all-reduces per block" : "") +
                          fmt(", plus %.0f us per block for kernel launches / thread barriers", dev.step_overhead_per_layer * 1e6));

  const double prefill_flops = 2.0 * matmul_params + 2.0 * model.n_layers * p.context * model.n_heads * model.head_dim;
  p.prefill_tokens_per_second = n * dev.flops * dev.flops_efficiency / prefill_flops;
  p.time_to_first_token_seconds = static_cast<double>(p.context) / p.prefill_tokens_per_second;

  p.disk_bytes = stored && model.file_bytes ? model.file_bytes : s.weights + static_cast<uint64_t>(model.vocab) * 32;
  p.assumptions.push_back("disk: the model file alone; keep room for a second one to roll out upgrades");
  return p;
}

}  // namespace citadel
