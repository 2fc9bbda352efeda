// The planner against figures worked out by hand from published hyper-parameters (each model's
// config.json), against published GGUF file sizes, and against the brief's deployment cases.
#include "engine/capacity_plan.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/gguf_writer.h"
#include "engine/capacity_plan_loader.h"
#include "engine/capacity_plan_quant.h"
#include "engine/capacity_plan_tco.h"
#include "engine/hardware_catalog.h"
#include "engine/model_presets.h"
#include "test_paths.h"

namespace citadel {
namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;

Plan plan(const std::string& preset, const std::string& device, const std::string& quant = "f16", int64_t users = 16,
          int64_t context = 0) {
  PlanRequest r;
  r.quant = quant;
  r.device = find_device(device);
  r.users = users;
  r.context = context;
  return plan_capacity(find_preset(preset), r);
}

// ---- hand-computed figures for three real models ----

// Llama 2 7B: hidden 4096, 32 blocks, 32 heads (no GQA), FFN 11008, vocabulary 32000.
//   embeddings + output: 2 x 32000 x 4096             =   262,144,000
//   per block: attention 4 x 4096^2                     =    67,108,864
//              SwiGLU 3 x 4096 x 11008                  =   135,266,304
//              two RMSNorms 2 x 4096                    =         8,192
//   32 blocks x 202,383,360 + final norm 4096 + 262,144,000 = 6,738,415,616 (Meta: "6.74B")
TEST(CapacityPlan, Llama2_7bByHand) {
  const Plan p = plan("llama-2-7b", "a100-80gb");
  EXPECT_EQ(p.n_params, 6'738'415'616);
  // f16 matrices, f32 norms: 266,240 norm weights (32 x 8192 + 4096).
  EXPECT_EQ(p.weights_bytes, (6'738'415'616ull - 266'240) * 2 + 266'240 * 4);
  // KV per token: 2 (K,V) x 32 blocks x 32 heads x 128 x 2 bytes = 512 KiB; x 4096 x 16 users = 32 GiB.
  EXPECT_EQ(p.kv_bytes_per_token, 524'288u);
  EXPECT_EQ(p.context, 4096);
  EXPECT_EQ(p.kv_cache_bytes, 32ull << 30);
  // Decode reads every weight but the embedding (262,144,000 bytes: one row per token) and all the KV:
  // 47,575 MB / (2039 GB/s x 0.6) + 32 blocks x 40 us = 40.17 ms -> 24.9 tokens/s per user.
  const double step = (13'477'363'712.0 - 262'144'000.0 + 34'359'738'368.0) / (2039e9 * 0.6) + 32 * 40e-6;
  EXPECT_NEAR(p.tokens_per_second_per_user, 1 / step, 1e-6);
  EXPECT_NEAR(p.tokens_per_second_total, 16 / step, 1e-4);
  EXPECT_FALSE(p.compute_bound);
  EXPECT_EQ(p.devices, 1);
}

// Falcon 40B: hidden 8192, 60 blocks, 128 query heads of 64, 8 KV heads, GELU MLP 4 x 8192,
// vocabulary 65024, tied embeddings, context 2048.
//   embeddings 65024 x 8192                            =    532,676,608
//   per block: fused QKV 8192 x (128 + 2 x 8) x 64     =     75,497,472
//              dense 8192^2                            =     67,108,864
//              MLP 2 x 8192 x 32768                    =    536,870,912
//              two LayerNorms with bias 4 x 8192       =         32,768
//   60 x 679,510,016 + final LayerNorm 16,384 + 532,676,608 = 41,303,293,952
TEST(CapacityPlan, Falcon40bByHand) {
  const Plan p = plan("falcon-40b", "a100-80gb");
  EXPECT_EQ(p.n_params, 41'303'293'952);
  EXPECT_EQ(p.context, 2048);  // its trained context, below the 4096 default
  // KV per token: 2 x 60 x 8 x 64 x 2 bytes = 122,880 (grouped-query attention keeps it small).
  EXPECT_EQ(p.kv_bytes_per_token, 122'880u);
  EXPECT_EQ(p.kv_cache_bytes, 122'880ull * 2048 * 16);
  EXPECT_NEAR(p.weights_bytes / 1e9, 82.6, 0.1);
}

// Qwen 72B (v1): hidden 8192, 80 blocks, 64 heads and 64 KV heads (no GQA), MLP branches of
// 24576 (config intermediate_size 49152 counts both), vocabulary 152064, untied, QKV bias.
//   embeddings + output 2 x 152064 x 8192              =  2,491,416,576
//   per block: attention 4 x 8192^2 + bias 3 x 8192    =    268,460,032
//              SwiGLU 3 x 8192 x 24576                 =    603,979,776
//              two RMSNorms                            =         16,384
//   80 x 872,456,192 + 8192 + 2,491,416,576            = 72,287,920,128
TEST(CapacityPlan, Qwen72bByHand) {
  const Plan p = plan("qwen-72b", "a100-80gb");
  EXPECT_EQ(p.n_params, 72'287'920'128);
  // KV per token: 2 x 80 x 64 x 128 x 2 bytes = 2.5 MiB; x 4096 x 16 users = 160 GiB.
  EXPECT_EQ(p.kv_bytes_per_token, 2'621'440u);
  EXPECT_EQ(p.kv_cache_bytes, 160ull << 30);
}

TEST(CapacityPlan, PresetParameterCountsMatchPublishedTotals) {
  // Exact totals of the safetensors checkpoints on the model hubs.
  EXPECT_EQ(plan("llama-2-13b", "a100-80gb").n_params, 13'015'864'320);
  EXPECT_EQ(plan("llama-3.1-8b", "a100-80gb").n_params, 8'030'261'248);
  EXPECT_EQ(plan("llama-3.1-70b", "a100-80gb").n_params, 70'553'706'496);
  EXPECT_EQ(plan("qwen2.5-0.5b", "a100-80gb").n_params, 494'032'768);
  EXPECT_EQ(plan("qwen2.5-7b", "a100-80gb").n_params, 7'615'616'512);
  EXPECT_EQ(plan("qwen2.5-72b", "a100-80gb").n_params, 72'706'203'648);
  EXPECT_EQ(plan("mistral-7b", "a100-80gb").n_params, 7'241'732'096);
  EXPECT_EQ(plan("tinyllama-1.1b", "a100-80gb").n_params, 1'100'048'384);
}

// Published GGUF files of Llama 2 (llama.cpp quantizer): 4.08 GB Q4_K_M, 3.83 GB Q4_0, 7.16 GB Q8_0,
// 7.87 GB for the 13B in Q4_K_M. The files add under 1 MB of metadata to the tensor bytes.
TEST(CapacityPlan, QuantizedSizesMatchPublishedFiles) {
  EXPECT_NEAR(plan("llama-2-7b", "a100-80gb", "q4_k_m").weights_bytes / 1e9, 4.08, 0.01);
  EXPECT_NEAR(plan("llama-2-7b", "a100-80gb", "q4_0").weights_bytes / 1e9, 3.83, 0.01);
  EXPECT_NEAR(plan("llama-2-7b", "a100-80gb", "q8_0").weights_bytes / 1e9, 7.16, 0.01);
  EXPECT_NEAR(plan("llama-2-13b", "a100-80gb", "q4_k_m").weights_bytes / 1e9, 7.87, 0.01);
  // 8-bit cuts weight memory by about 73% against f32 (the brief's "75%", less the block scales).
  const double f32 = static_cast<double>(plan("llama-2-7b", "cpu", "f32").weights_bytes);
  EXPECT_NEAR(1 - plan("llama-2-7b", "cpu", "q8_0").weights_bytes / f32, 0.734, 0.005);
}

// ---- the brief's cases ----

TEST(CapacityPlan, SevenBillionFitsOneA100WithRoomForUsers) {
  const Plan p = plan("llama-2-7b", "a100-80gb");
  EXPECT_EQ(p.devices, 1);
  EXPECT_TRUE(p.fits);
  EXPECT_LT(p.total_bytes, 72 * kGiB);
  EXPECT_GT(p.tokens_per_second_per_user, 10);
  EXPECT_EQ(plan("qwen2.5-7b", "a100-80gb").devices, 1);
  EXPECT_EQ(plan("llama-3.1-8b", "a100-80gb").devices, 1);
}

TEST(CapacityPlan, Falcon40bNeedsSeveralA100sInFp16) {
  // 82.6 GB of f16 weights: more than one A100 80GB, two hold it with 16 users' KV cache;
  // on the 40 GB A100 the three cards that hold it are rounded up to four so they divide the heads.
  EXPECT_EQ(plan("falcon-40b", "a100-80gb").devices, 2);
  const Plan small = plan("falcon-40b", "a100-40gb");
  EXPECT_EQ(small.devices_for_memory, 3);
  EXPECT_EQ(small.devices, 4);
  // 8-bit brings it back to one 80 GB card.
  EXPECT_EQ(plan("falcon-40b", "a100-80gb", "q8_0", 1).devices, 1);
}

TEST(CapacityPlan, Qwen72bNeedsAboutEightA100sForRealTime) {
  const Plan p = plan("qwen-72b", "a100-80gb");
  EXPECT_EQ(p.devices, 8);  // 145 GB weights + 172 GB of KV without GQA: 5 cards, rounded to 8 (64 heads)
  EXPECT_GE(p.tokens_per_second_per_user, 10);
  EXPECT_TRUE(p.fits);
}

TEST(CapacityPlan, RealTimeTargetAddsDevices) {
  PlanRequest r;
  r.quant = "f16";
  r.device = find_device("a100-80gb");
  r.users = 1;
  const Plan base = plan_capacity(find_preset("llama-2-70b"), r);
  r.min_tokens_per_second = 30;
  const Plan fast = plan_capacity(find_preset("llama-2-70b"), r);
  EXPECT_GT(fast.devices, base.devices);
  EXPECT_GE(fast.tokens_per_second_per_user, 30);
}

TEST(CapacityPlan, DoesNotFitIsReported) {
  const Plan p = plan("qwen-72b", "rtx4090", "f16", 64, 32768);
  EXPECT_FALSE(p.fits);
  EXPECT_FALSE(p.warnings.empty());
}

TEST(CapacityPlan, EdgeAndCpu) {
  // A Jetson AGX Orin 64GB holds a 1.1B model in Q4_K_M for a few users.
  const Plan jetson = plan("tinyllama-1.1b", "jetson-orin-64gb", "q4_k_m", 4);
  EXPECT_EQ(jetson.devices, 1);
  EXPECT_GT(jetson.tokens_per_second_per_user, 10);
  const Plan cpu = plan("llama-2-7b", "cpu", "q4_k_m", 1);
  EXPECT_EQ(cpu.devices, 1);
  EXPECT_GT(cpu.tokens_per_second_per_user, 5);
  EXPECT_LT(cpu.tokens_per_second_per_user, 60);
}

TEST(CapacityPlan, ContextBeyondTrainingWarns) {
  const Plan p = plan("llama-2-7b", "a100-80gb", "f16", 1, 8192);
  EXPECT_EQ(p.context, 8192);
  EXPECT_FALSE(p.warnings.empty());
}

TEST(CapacityPlan, RejectsBadRequests) {
  EXPECT_THROW(plan("llama-2-7b", "a100-80gb", "q3_x"), std::invalid_argument);
  EXPECT_THROW(plan("llama-2-7b", "a100-80gb", "f16", 0), std::invalid_argument);
  EXPECT_THROW(find_preset("gpt-5"), std::invalid_argument);
  EXPECT_THROW(find_device("tpu"), std::invalid_argument);
  ModelShape broken = find_preset("llama-2-7b");
  broken.n_kv_heads = 5;
  EXPECT_THROW(validate_shape(broken), std::invalid_argument);
}

TEST(CapacityPlanQuant, MixFollowsLlamaCpp) {
  const QuantScheme q = parse_quant("Q4_K_M");
  EXPECT_EQ(q.base, TensorType::Q4_K);
  EXPECT_TRUE(q.k_mix);
  WeightTensor v{WeightRole::AttnV, 0, 4096, 0};
  EXPECT_EQ(tensor_type_for(q, v, 32), TensorType::Q6_K);  // first eighth
  v.layer = 4;
  EXPECT_EQ(tensor_type_for(q, v, 32), TensorType::Q4_K);
  v.layer = 6;  // (6 - 4) % 3 == 2
  EXPECT_EQ(tensor_type_for(q, v, 32), TensorType::Q6_K);
  EXPECT_EQ(tensor_type_for(q, {WeightRole::Output, -1, 4096, 0}, 32), TensorType::Q6_K);
  EXPECT_EQ(tensor_type_for(q, {WeightRole::Vector, 3, 4096, 0}, 32), TensorType::F32);
  EXPECT_EQ(tensor_type_for(parse_quant("q8_0"), {WeightRole::Output, -1, 4096, 0}, 32), TensorType::Q8_0);
  EXPECT_EQ(type_bytes(TensorType::Q4_0, 64), 36u);
  EXPECT_EQ(type_bytes(TensorType::Q4_0, 33), 36u);  // partial block rounds up
}

TEST(CapacityPlanModel, ClassifiesGgufAndHuggingFaceNames) {
  EXPECT_EQ(classify_tensor("blk.3.attn_v.weight", {64, 32}).role, WeightRole::AttnV);
  EXPECT_EQ(classify_tensor("blk.3.attn_v.weight", {64, 32}).layer, 3);
  EXPECT_EQ(classify_tensor("blk.0.attn_norm.weight", {64}).role, WeightRole::Vector);
  EXPECT_EQ(classify_tensor("output.weight", {64, 512}).role, WeightRole::Output);
  EXPECT_EQ(classify_tensor("model.layers.12.mlp.down_proj.weight", {4096, 11008}).role, WeightRole::FfnDown);
  EXPECT_EQ(classify_tensor("model.layers.12.mlp.down_proj.weight", {4096, 11008}).layer, 12);
  EXPECT_EQ(classify_tensor("transformer.h.7.self_attention.query_key_value.weight", {9216, 8192}).role, WeightRole::AttnQkv);
  EXPECT_EQ(classify_tensor("transformer.h.7.self_attention.query_key_value.weight", {9216, 8192}).layer, 7);
  EXPECT_EQ(classify_tensor("lm_head.weight", {32000, 4096}).role, WeightRole::Output);
}

// ---- cost ----

TEST(CapacityPlanTco, BriefBreakEven) {
  // 5 USD/h around the clock = 3,650 USD a month; 80,000 USD pays back in month 22 (under two years).
  TcoInput in;
  in.tokens_per_second = 400;
  TcoResult r = compute_tco(in);
  EXPECT_DOUBLE_EQ(r.cloud_per_month, 3650);
  ASSERT_TRUE(r.break_even_month.has_value());
  EXPECT_EQ(*r.break_even_month, 22);
  EXPECT_TRUE(r.pays_back_within_life);
  EXPECT_DOUBLE_EQ(r.savings_over_life, 3650 * 36 - 80000);
  // Per million tokens: renting 5 USD / (400 x 3600) x 1e6 = 3.47 USD; owning 80,000 over 36 x 730 h.
  EXPECT_NEAR(r.cloud_cost_per_million_tokens, 5.0 / 1.44, 1e-9);
  EXPECT_NEAR(r.own_cost_per_million_tokens, 80000 / (400 * 3600.0 * 730 * 36) * 1e6, 1e-9);

  // Busy 60% of the time: 2,190 USD a month of rent, month 37: after a three-year life.
  in.utilisation = 0.6;
  r = compute_tco(in);
  EXPECT_EQ(*r.break_even_month, 37);
  EXPECT_FALSE(r.pays_back_within_life);
}

TEST(CapacityPlanTco, EnergyAndNeverPayingBack) {
  TcoInput in;
  in.energy_price = 0.2;
  in.power_watts = 1000;  // 146 USD a month at 730 h
  TcoResult r = compute_tco(in);
  EXPECT_NEAR(r.own_running_per_month, 146, 1e-9);
  EXPECT_EQ(*r.break_even_month, static_cast<int>(std::ceil(80000 / (3650 - 146.0))));
  in.cloud_hourly = 0.1;  // rent cheaper than the power bill
  EXPECT_FALSE(compute_tco(in).break_even_month.has_value());
  in.utilisation = 0;
  EXPECT_THROW(compute_tco(in), std::invalid_argument);
}

// ---- shapes read from files ----

class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::temp_directory_path() /
              ("citadel-plan-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(CapacityPlanLoader, GgufGivesHyperParametersAndExactBytes) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "tiny");
  w.set_u32("llama.block_count", 2);
  w.set_u32("llama.embedding_length", 64);
  w.set_u32("llama.attention.head_count", 4);
  w.set_u32("llama.attention.head_count_kv", 2);
  w.set_u32("llama.feed_forward_length", 128);
  w.set_u32("llama.context_length", 256);
  w.set_strings("tokenizer.ggml.tokens", std::vector<std::string>(100, "x"));
  std::vector<uint8_t> zeros(64 * 128 * 4, 0);
  w.add_tensor("token_embd.weight", {64, 100}, TensorType::F32, zeros.data(), 64 * 100 * 4);
  for (int l = 0; l < 2; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    w.add_tensor(b + "attn_q.weight", {64, 64}, TensorType::Q8_0, zeros.data(), row_bytes(TensorType::Q8_0, 64) * 64);
    w.add_tensor(b + "attn_k.weight", {64, 32}, TensorType::Q8_0, zeros.data(), row_bytes(TensorType::Q8_0, 64) * 32);
    w.add_tensor(b + "attn_v.weight", {64, 32}, TensorType::Q8_0, zeros.data(), row_bytes(TensorType::Q8_0, 64) * 32);
    w.add_tensor(b + "attn_output.weight", {64, 64}, TensorType::Q8_0, zeros.data(), row_bytes(TensorType::Q8_0, 64) * 64);
    w.add_tensor(b + "ffn_gate.weight", {64, 128}, TensorType::Q8_0, zeros.data(), row_bytes(TensorType::Q8_0, 64) * 128);
    w.add_tensor(b + "ffn_up.weight", {64, 128}, TensorType::Q8_0, zeros.data(), row_bytes(TensorType::Q8_0, 64) * 128);
    w.add_tensor(b + "ffn_down.weight", {128, 64}, TensorType::Q8_0, zeros.data(), row_bytes(TensorType::Q8_0, 128) * 64);
    w.add_tensor(b + "attn_norm.weight", {64}, TensorType::F32, zeros.data(), 256);
    w.add_tensor(b + "ffn_norm.weight", {64}, TensorType::F32, zeros.data(), 256);
  }
  w.add_tensor("output_norm.weight", {64}, TensorType::F32, zeros.data(), 256);
  TempDir dir;
  w.write(dir / "tiny.gguf");

  const ModelShape s = load_model_shape(dir / "tiny.gguf");
  EXPECT_EQ(s.source, "gguf");
  EXPECT_EQ(s.name, "tiny");
  EXPECT_EQ(s.n_layers, 2);
  EXPECT_EQ(s.d_model, 64);
  EXPECT_EQ(s.n_heads, 4);
  EXPECT_EQ(s.n_kv_heads, 2);
  EXPECT_EQ(s.head_dim, 16);
  EXPECT_EQ(s.ffn_dim, 128);
  EXPECT_EQ(s.vocab, 100);
  EXPECT_EQ(s.context_length, 256);
  EXPECT_TRUE(s.tied_embeddings);  // no output.weight
  EXPECT_TRUE(s.gated_ffn);
  EXPECT_EQ(s.stored_type, "q8_0 mixed");  // f32 embedding + q8_0 blocks

  PlanRequest r;
  r.device = find_device("cpu");
  r.users = 1;
  const Plan as_stored = plan_capacity(s, r);
  const uint64_t q8 = 2 * (row_bytes(TensorType::Q8_0, 64) * (64 + 32 + 32 + 64 + 128 + 128) + row_bytes(TensorType::Q8_0, 128) * 64);
  EXPECT_EQ(as_stored.weights_bytes, 64 * 100 * 4 + q8 + 5 * 256);
  EXPECT_EQ(as_stored.n_params, 64 * 100 + 2 * (64 * 64 * 2 + 64 * 32 * 2 + 3 * 64 * 128) + 5 * 64);
  EXPECT_EQ(as_stored.disk_bytes, s.file_bytes);
  r.quant = "f16";  // what-if: the same model in f16
  EXPECT_EQ(plan_capacity(s, r).weights_bytes, (as_stored.n_params - 5 * 64) * 2 + 5 * 64 * 4);
}

TEST(CapacityPlanLoader, HuggingFaceConfigAndSafetensorsHeader) {
  TempDir dir;
  // Falcon-40B's config.json, as published (abridged).
  std::ofstream(dir / "config.json") << R"({"model_type": "falcon", "hidden_size": 8192, "n_head": 128,
    "num_kv_heads": 8, "n_layer": 60, "vocab_size": 65024, "new_decoder_architecture": true,
    "parallel_attn": true, "torch_dtype": "bfloat16"})";
  ModelShape s = load_model_shape(dir.str());
  EXPECT_EQ(s.architecture, "falcon");
  EXPECT_EQ(s.n_kv_heads, 8);
  EXPECT_EQ(s.head_dim, 64);
  EXPECT_EQ(s.ffn_dim, 4 * 8192);
  EXPECT_EQ(s.context_length, 2048);
  EXPECT_TRUE(s.tied_embeddings);
  EXPECT_EQ(s.stored_type, "bf16");
  EXPECT_EQ(parameter_count(weight_tensors(s)), 41'303'293'952);

  // A Llama-style folder with one safetensors file: exact bytes come from its header.
  TempDir other;
  std::filesystem::create_directories(other / "m");
  std::ofstream(other / "m/config.json") << R"({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4,
    "num_key_value_heads": 2, "num_hidden_layers": 1, "intermediate_size": 128, "vocab_size": 100,
    "max_position_embeddings": 512, "tie_word_embeddings": false})";
  const std::string header = R"({"model.embed_tokens.weight":{"dtype":"BF16","shape":[100,64],"data_offsets":[0,12800]},)"
                             R"("lm_head.weight":{"dtype":"BF16","shape":[100,64],"data_offsets":[12800,25600]},)"
                             R"("model.layers.0.mlp.down_proj.weight":{"dtype":"BF16","shape":[64,128],"data_offsets":[25600,41984]},)"
                             R"("__metadata__":{"format":"pt"}})";
  {
    std::ofstream st(other / "m/model.safetensors", std::ios::binary);
    const uint64_t n = header.size();
    st.write(reinterpret_cast<const char*>(&n), 8);
    st << header << std::string(41984, '\0');
  }
  s = load_model_shape(other / "m");
  EXPECT_EQ(s.name, "m");
  EXPECT_EQ(s.n_kv_heads, 2);
  EXPECT_EQ(s.context_length, 512);
  ASSERT_EQ(s.tensors.size(), 3u);
  EXPECT_EQ(s.stored_type, "bf16");
  PlanRequest r;
  r.device = find_device("cpu");
  EXPECT_EQ(plan_capacity(s, r).weights_bytes, 41984u);

  EXPECT_THROW(load_model_shape(other / "missing.gguf"), std::runtime_error);
  std::ofstream(other / "bad.json") << "{\"model_type\": \"llama\"}";
  EXPECT_THROW(load_model_shape(other / "bad.json"), std::runtime_error);
}

TEST(CapacityPlanLoader, Stories260k) {
  const std::string path = test::models_dir() + "/stories260K/stories260K-f32.gguf";
  REQUIRE_FILE(path);
  const ModelShape s = load_model_shape(path);
  // README: dim 64, hidden 172, 5 layers, 8 heads, 4 KV heads, vocab 512; the converter writes context 128.
  EXPECT_EQ(s.d_model, 64);
  EXPECT_EQ(s.ffn_dim, 172);
  EXPECT_EQ(s.n_layers, 5);
  EXPECT_EQ(s.n_heads, 8);
  EXPECT_EQ(s.n_kv_heads, 4);
  EXPECT_EQ(s.vocab, 512);
  EXPECT_EQ(s.context_length, 128);
  PlanRequest r;
  r.device = find_device("cpu");
  r.users = 1;
  const Plan p = plan_capacity(s, r);
  EXPECT_EQ(p.weights_bytes, static_cast<uint64_t>(p.n_params) * 4);  // all f32
  EXPECT_EQ(p.kv_bytes_per_token, 2u * 5 * 4 * 8 * 2);
  EXPECT_LT(p.weights_bytes, s.file_bytes);
}

}  // namespace
}  // namespace citadel
