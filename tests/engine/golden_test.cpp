// The engine's first promise: stories260K reproduces llama.cpp / llama2.c token for token.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/generator.h"
#include "model/model.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

using namespace citadel;

namespace {

struct Golden {
  std::vector<int32_t> prompt_ids, ids;
  std::string prompt, text;
};

Golden load_golden() {
  auto j = nlohmann::json::parse(test::read_file(test::shared_dir() + "/golden/stories260K.json"));
  return {j["prompt_ids"].get<std::vector<int32_t>>(), j["generated_ids"].get<std::vector<int32_t>>(),
          j["prompt"].get<std::string>(), j["generated_text"].get<std::string>()};
}

GenerateResult greedy(const std::string& file, int threads, std::vector<std::vector<float>>* logits = nullptr,
                      int prefill_chunk = 512) {
  auto model = Model::load(test::models_dir() + "/stories260K/" + file);
  auto tok = Tokenizer::from_gguf(model->gguf());
  ThreadPool pool(threads);
  GenerateOptions opt;
  opt.max_tokens = 64;
  opt.sampling.temperature = 0;
  opt.prefill_chunk = prefill_chunk;
  GenerateCallbacks cb;
  if (logits) cb.on_logits = [&](int, const float* l, int64_t n) { logits->emplace_back(l, l + n); };
  return generate(*model, *tok, pool, "Once upon a time", opt, cb);
}

}  // namespace

class GoldenStories : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_FILE(test::shared_dir() + "/golden/stories260K.json");
    REQUIRE_FILE(test::models_dir() + "/stories260K/stories260K-f32.gguf");
    golden = load_golden();
  }
  Golden golden;
};

TEST_F(GoldenStories, F32GreedyIdsAndText) {
  for (int threads : {1, 2, 3}) {
    GenerateResult r = greedy("stories260K-f32.gguf", threads);
    EXPECT_EQ(r.prompt_ids, golden.prompt_ids) << threads << " threads";
    EXPECT_EQ(r.ids, golden.ids) << threads << " threads";
    EXPECT_EQ(r.text, golden.text) << threads << " threads";
  }
}

TEST_F(GoldenStories, F32LogitsMatchLlama2c) {
  const std::string path = test::shared_dir() + "/golden/stories260K-once-upon-a-time.logits.f32";
  REQUIRE_FILE(path);
  std::string raw = test::read_file(path);
  ASSERT_EQ(raw.size(), 64u * 512u * 4u);
  const auto* ref = reinterpret_cast<const float*>(raw.data());
  std::vector<std::vector<float>> logits;
  greedy("stories260K-f32.gguf", 2, &logits);
  ASSERT_EQ(logits.size(), 64u);
  float max_diff = 0;
  for (size_t step = 0; step < 64; ++step)
    for (size_t i = 0; i < 512; ++i) max_diff = std::max(max_diff, std::fabs(logits[step][i] - ref[step * 512 + i]));
  EXPECT_LT(max_diff, 1e-4f);
  RecordProperty("max_abs_logit_diff", std::to_string(max_diff));
}

TEST_F(GoldenStories, PrefillChunkingDoesNotChangeOutput) {
  // Token-by-token prefill and whole-prompt prefill walk different code paths (matvec vs matmul).
  EXPECT_EQ(greedy("stories260K-f32.gguf", 2, nullptr, 1).ids, golden.ids);
  EXPECT_EQ(greedy("stories260K-f32.gguf", 1, nullptr, 2).ids, golden.ids);
}

TEST_F(GoldenStories, Q8_0GivesTheSameIds) {
  REQUIRE_FILE(test::models_dir() + "/stories260K/stories260K-q8_0-mix.gguf");
  EXPECT_EQ(greedy("stories260K-q8_0-mix.gguf", 2).ids, golden.ids);
}

TEST_F(GoldenStories, Q4_0StaysCloseAndFinite) {
  REQUIRE_FILE(test::models_dir() + "/stories260K/stories260K-q4_0-mix.gguf");
  std::vector<std::vector<float>> logits;
  GenerateResult r = greedy("stories260K-q4_0-mix.gguf", 2, &logits);
  for (const auto& row : logits)
    for (float v : row) ASSERT_TRUE(std::isfinite(v));
  // 4-bit diverges from F32 at token 24 in llama.cpp; the first tokens agree.
  ASSERT_GE(r.ids.size(), 20u);
  EXPECT_TRUE(std::equal(r.ids.begin(), r.ids.begin() + 20, golden.ids.begin()));
}
