// LoRA adapter files (llama.cpp's GGUF layout) and their application per batch row.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/fp16.h"
#include "core/gguf.h"
#include "core/gguf_writer.h"
#include "model/lora_adapter.h"
#include "model/model.h"
#include "model/synthetic_model.h"
#include "test_paths.h"

using namespace citadel;

namespace {

std::string temp_path(const std::string& what) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "/citadel-lora-" + info->name() + "-" + what;
}

std::string synth(const std::string& shape) {
  const std::string path = temp_path(shape + ".gguf");
  ThreadPool pool(2);
  write_synthetic_model(*find_model_shape(shape), SynthOptions{}, path, pool);
  return path;
}

std::shared_ptr<LoraAdapter> random_adapter(const Model& m, int rank, uint32_t seed,
                                            std::vector<LoraTarget> targets = {LoraTarget::Q, LoraTarget::V,
                                                                               LoraTarget::Down}) {
  auto a = std::make_shared<LoraAdapter>();
  a->arch = m.hparams().arch;
  a->alpha = 2.0f * rank;
  a->layers.resize(m.hparams().n_layer);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.2f);
  for (size_t il = 0; il < a->layers.size(); ++il)
    for (LoraTarget t : targets) {
      const Tensor& w = lora_base_weight(m.weights().layers[il], t);
      LoraPair& p = a->layers[il][static_cast<int>(t)];
      p.rank = rank, p.in = w.cols(), p.out = w.rows();
      p.a.resize(rank * p.in), p.b.resize(p.out * rank);
      for (float& v : p.a) v = dist(rng);
      for (float& v : p.b) v = dist(rng);
    }
  return a;
}

// Greedy ids of `steps` tokens after `prompt` with a stack (null: base), alone in its batch.
std::vector<int32_t> greedy(const Model& m, const std::vector<int32_t>& prompt, int steps, const LoraStack* lora) {
  ThreadPool pool(2);
  KvCache kv(m.hparams(), KvCache::blocks_for(64, 1));
  const int32_t seq = kv.add_sequence();
  kv.reserve(seq, 64);
  std::vector<float> logits(m.hparams().n_vocab);
  Batch b;
  for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], static_cast<int32_t>(i), seq, i + 1 == prompt.size(), lora);
  m.forward(b, kv, pool, logits.data());
  std::vector<int32_t> out;
  for (int s = 0; s < steps; ++s) {
    const int32_t id = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    out.push_back(id);
    b.clear();
    b.add(id, static_cast<int32_t>(prompt.size()) + s, seq, true, lora);
    m.forward(b, kv, pool, logits.data());
  }
  return out;
}

}  // namespace

TEST(LoraAdapter, WritesLlamaCppLayoutAndReadsItBack) {
  auto model = Model::load(synth("llama-tiny"));
  auto a = random_adapter(*model, 4, 1);
  const std::string path = temp_path("adapter.gguf");
  a->write(path, "test");
  auto f = GgufFile::open(path);
  EXPECT_EQ(f->get_string("general.type"), "adapter");
  EXPECT_EQ(f->get_string("adapter.type"), "lora");
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_FLOAT_EQ(static_cast<float>(f->get_double("adapter.lora.alpha", 0)), 8.0f);
  const GgufTensorInfo* la = f->find_tensor("blk.1.attn_q.weight.lora_a");
  const GgufTensorInfo* lb = f->find_tensor("blk.1.attn_q.weight.lora_b");
  ASSERT_TRUE(la && lb);
  EXPECT_EQ(la->shape, (std::vector<int64_t>{128, 4}));  // [in, rank], as llama.cpp checks
  EXPECT_EQ(lb->shape, (std::vector<int64_t>{4, 128}));  // [rank, out]
  EXPECT_FALSE(f->find_tensor("blk.0.attn_k.weight.lora_a"));
  auto back = LoraAdapter::load(path, *model);
  EXPECT_EQ(back->layers[1][0].a, a->layers[1][0].a);
  EXPECT_EQ(back->layers[0][6].b, a->layers[0][6].b);
  EXPECT_FLOAT_EQ(back->scale(back->layers[0][0]), 2.0f);
  EXPECT_NE(back->id(), a->id());
}

TEST(LoraAdapter, RefusesAnAdapterOfAnotherShapeWithAClearError) {
  auto llama = Model::load(synth("llama-tiny"));
  auto qwen = Model::load(synth("qwen3-tiny"));
  const std::string path = temp_path("qwen.gguf");
  random_adapter(*qwen, 2, 1)->write(path);
  try {
    LoraAdapter::load(path, *llama);
    FAIL() << "loaded an adapter of another architecture";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("architecture 'qwen3'"), std::string::npos) << e.what();
  }
  // Same architecture, other shapes: a tensor written for a wider model.
  auto a = random_adapter(*llama, 2, 1);
  a->layers[0][0].in = 256;
  a->layers[0][0].a.resize(2 * 256);
  a->write(path);
  try {
    LoraAdapter::load(path, *llama);
    FAIL() << "loaded a misshaped adapter";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("another model"), std::string::npos) << e.what();
  }
  // A file that is not an adapter.
  try {
    LoraAdapter::load(synth("llama-tiny"), *llama);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("general.type"), std::string::npos) << e.what();
  }
}

TEST(LoraAdapter, ReadsF16TensorsAndSkipsNormDeltasAsLlamaCppDoes) {
  auto model = Model::load(synth("llama-tiny"));
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("general.type", "adapter");
  w.set_string("adapter.type", "lora");
  w.set_f32("adapter.lora.alpha", 0.0f);
  std::vector<uint16_t> a(2 * 128, fp32_to_fp16(0.5f)), b(384 * 2, fp32_to_fp16(0.25f));
  w.add_tensor("blk.0.ffn_up.weight.lora_a", {128, 2}, TensorType::F16, a.data(), a.size() * 2);
  w.add_tensor("blk.0.ffn_up.weight.lora_b", {2, 384}, TensorType::F16, b.data(), b.size() * 2);
  std::vector<float> norm(128, 1.0f);
  w.add_tensor("blk.0.attn_norm.weight", {128}, TensorType::F32, norm.data(), norm.size() * 4);
  const std::string path = temp_path("f16.gguf");
  w.write(path);
  auto back = LoraAdapter::load(path, *model);
  const LoraPair* p = back->get(0, LoraTarget::Up);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->rank, 2);
  EXPECT_FLOAT_EQ(p->b[5], 0.25f);
  EXPECT_FLOAT_EQ(back->scale(*p), 1.0f) << "alpha 0: the user scale alone";
}

TEST(LoraAdapter, ParsesFileAndScale) {
  EXPECT_EQ(parse_lora_arg("a.gguf"), (std::pair<std::string, float>{"a.gguf", 1.0f}));
  EXPECT_EQ(parse_lora_arg("dir/a.gguf:0.5"), (std::pair<std::string, float>{"dir/a.gguf", 0.5f}));
  EXPECT_EQ(parse_lora_arg("c:/x.gguf"), (std::pair<std::string, float>{"c:/x.gguf", 1.0f}));
}

TEST(LoraAdapter, MixedAdapterBatchGivesEachRowItsOwnAnswer) {
  // The base and two adapters (one of them for two sequences) decoded together in one batch give
  // the same greedy ids as each alone: every row gets its own adapter, and only its own.
  auto model = Model::load(synth("llama-tiny"));
  LoraStack one{{{random_adapter(*model, 4, 11), 1.0f}}};
  LoraStack two{{{random_adapter(*model, 2, 12, {LoraTarget::K, LoraTarget::O, LoraTarget::Gate, LoraTarget::Up}), 1.0f}}};
  const std::vector<std::vector<int32_t>> prompts = {{1, 5, 9, 100, 7}, {1, 300, 2, 9}, {1, 42, 43}, {1, 77, 78, 79}};
  const LoraStack* stacks[] = {nullptr, &one, &two, &one};
  const int n = 4, steps = 10;
  std::vector<std::vector<int32_t>> alone;
  for (int s = 0; s < n; ++s) alone.push_back(greedy(*model, prompts[s], steps, stacks[s]));
  EXPECT_NE(alone[1], greedy(*model, prompts[1], steps, nullptr)) << "the adapter changes the answer";
  EXPECT_NE(alone[2], greedy(*model, prompts[2], steps, nullptr)) << "the adapter changes the answer";

  ThreadPool pool(2);
  KvCache kv(model->hparams(), KvCache::blocks_for(64, n));
  std::vector<int32_t> seqs;
  Batch b;
  for (int s = 0; s < n; ++s) {  // all the prompts in one prefill batch
    seqs.push_back(kv.add_sequence());
    kv.reserve(seqs[s], 64);
    for (size_t i = 0; i < prompts[s].size(); ++i)
      b.add(prompts[s][i], static_cast<int32_t>(i), seqs[s], i + 1 == prompts[s].size(), stacks[s]);
  }
  const int64_t vocab = model->hparams().n_vocab;
  std::vector<float> logits(n * vocab);
  model->forward(b, kv, pool, logits.data());
  std::vector<std::vector<int32_t>> together(n);
  for (int step = 0; step < steps; ++step) {
    b.clear();
    for (int s = 0; s < n; ++s) {
      const float* row = logits.data() + s * vocab;
      const int32_t id = static_cast<int32_t>(std::max_element(row, row + vocab) - row);
      together[s].push_back(id);
      // Decode rows interleaved (base, one, two, one): adapter one's rows are not contiguous.
      b.add(id, static_cast<int32_t>(prompts[s].size()) + step, seqs[s], true, stacks[s]);
    }
    model->forward(b, kv, pool, logits.data());
  }
  for (int s = 0; s < n; ++s) EXPECT_EQ(together[s], alone[s]) << "sequence " << s;
}
