// Many LoRA adapters over one base model in the engine: requests for different adapters (and the
// base) decoded together give exactly what each gives alone, the prefix cache never hands one
// adapter's K/V to another, and the registry loads, refuses and unloads adapters.
#include <gtest/gtest.h>

#include <random>

#include "core/gguf.h"
#include "engine/adapter_registry.h"
#include "engine/engine.h"
#include "model/lora_adapter.h"
#include "model/model.h"
#include "model/synthetic_model.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

using namespace citadel;

namespace {

std::string temp_path(const std::string& what) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "/citadel-engine-lora-" + info->name() + "-" + what;
}

std::shared_ptr<LoraAdapter> random_adapter(const Model& m, uint32_t seed) {
  auto a = std::make_shared<LoraAdapter>();
  a->arch = m.hparams().arch;
  a->alpha = 8;
  a->layers.resize(m.hparams().n_layer);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.3f);
  for (size_t il = 0; il < a->layers.size(); ++il)
    for (LoraTarget t : {LoraTarget::Q, LoraTarget::V, LoraTarget::Up, LoraTarget::Down}) {
      const Tensor& w = lora_base_weight(m.weights().layers[il], t);
      LoraPair& p = a->layers[il][static_cast<int>(t)];
      p.rank = 4, p.in = w.cols(), p.out = w.rows();
      p.a.resize(4 * p.in), p.b.resize(p.out * 4);
      for (float& v : p.a) v = dist(rng);
      for (float& v : p.b) v = dist(rng);
    }
  return a;
}

struct EngineLora : public ::testing::Test {
  void SetUp() override {
    model = Model::load(test::source_dir() + "/models/stories260K.gguf");
    tok = Tokenizer::from_gguf(model->gguf());
    for (uint32_t seed : {1u, 2u}) {
      auto s = std::make_shared<LoraStack>();
      s->refs.push_back({random_adapter(*model, seed), 1.0f});
      s->seal();
      stacks.push_back(s);
    }
  }
  GenerationRequest request(const std::string& prompt, std::shared_ptr<const LoraStack> lora) {
    GenerationRequest r;
    r.prompt = tok->encode(prompt, true);
    r.max_tokens = 24;
    r.sampling.temperature = 0;
    r.stop_at_eos = false;
    r.lora = std::move(lora);
    return r;
  }
  static std::vector<int32_t> ids(RequestStream& s) {
    std::vector<int32_t> out;
    TokenEvent ev;
    while (s.next(ev))
      if (ev.token >= 0) out.push_back(ev.token);
    return out;
  }
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
  std::vector<std::shared_ptr<const LoraStack>> stacks;
};

}  // namespace

TEST_F(EngineLora, TwoAdaptersAndTheBaseInOneBatchGiveTheirOwnAnswers) {
  // Longer than two KV blocks, so the prefix cache holds some of it.
  const std::string prompt = "Once upon a time, there was a little girl named Lily. She liked to play in the park with her dog.";
  std::vector<std::vector<int32_t>> alone;
  for (auto lora : {std::shared_ptr<const LoraStack>(), stacks[0], stacks[1]}) {
    EngineOptions o;
    o.parallel = 1;
    o.prefix_cache = false;
    Engine e(*model, *tok, o);
    alone.push_back(ids(*e.submit(request(prompt, lora))));
  }
  EXPECT_NE(alone[0], alone[1]);
  EXPECT_NE(alone[1], alone[2]);
  // Together: one engine, the same prompt three times (the prefix cache on), submitted at once.
  EngineOptions o;
  o.parallel = 4;
  Engine e(*model, *tok, o);
  auto base = e.submit(request(prompt, nullptr));
  auto one = e.submit(request(prompt, stacks[0]));
  auto two = e.submit(request(prompt, stacks[1]));
  EXPECT_EQ(ids(*base), alone[0]);
  EXPECT_EQ(ids(*one), alone[1]);
  EXPECT_EQ(ids(*two), alone[2]);
  // They shared forward passes: far fewer steps than three requests one after another.
  EXPECT_LT(e.stats().steps, 2 * 24);
  // Again, now with every prompt's blocks in the prefix cache: still each its own answer.
  EXPECT_EQ(ids(*e.submit(request(prompt, stacks[1]))), alone[2]);
  EXPECT_EQ(ids(*e.submit(request(prompt, nullptr))), alone[0]);
  EXPECT_GT(e.stats().prefix_cache_hit_tokens, 0);
}

TEST_F(EngineLora, RegistryLoadsRefusesAndUnloads) {
  AdapterRegistry reg(*model);
  const std::string path = temp_path("a.gguf");
  random_adapter(*model, 3)->write(path);
  const AdapterEntry e = reg.load("bank", path + ":0.5");
  EXPECT_EQ(e.scale, 0.5f);
  EXPECT_EQ(e.path, path);
  ASSERT_TRUE(reg.find("bank"));
  EXPECT_NE(reg.find("bank")->stack->fingerprint, 0u);
  EXPECT_THROW(reg.load("bank", path), std::invalid_argument);
  EXPECT_NO_THROW(reg.load("bank", path, true));
  EXPECT_THROW(reg.load("bad name", path), std::invalid_argument);
  // An adapter made for another model: refused, naming the mismatch.
  const std::string other = temp_path("tiny.gguf"), other_adapter = temp_path("tiny-adapter.gguf");
  ThreadPool pool(1);
  write_synthetic_model(*find_model_shape("llama-tiny"), SynthOptions{}, other, pool);
  random_adapter(*Model::load(other), 4)->write(other_adapter);
  try {
    reg.load("tiny", other_adapter);
    FAIL() << "an adapter of another model was loaded";
  } catch (const FormatError& err) {
    EXPECT_NE(std::string(err.what()).find("another model"), std::string::npos) << err.what();
  }
  EXPECT_FALSE(reg.find("tiny"));
  // The other way round: an adapter with more layers than the base, refused the same way.
  const std::string deep = temp_path("deep.gguf");
  random_adapter(*model, 5)->write(deep);
  auto tiny = Model::load(other);
  AdapterRegistry tiny_reg(*tiny);
  try {
    tiny_reg.load("deep", deep);
    FAIL() << "an adapter with more layers than the base was loaded";
  } catch (const FormatError& err) {
    EXPECT_NE(std::string(err.what()).find("another model"), std::string::npos) << err.what();
  }
  // A request holding an adapter keeps it alive after unload.
  auto held = reg.find("bank")->stack;
  EXPECT_TRUE(reg.unload("bank"));
  EXPECT_FALSE(reg.unload("bank"));
  EXPECT_FALSE(reg.find("bank"));
  EXPECT_EQ(held->refs.size(), 1u);
}
