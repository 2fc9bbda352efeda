// Continuous batching: concurrent requests give exactly their single-request outputs.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>
#include <nlohmann/json.hpp>

#include "engine/generator.h"
#include "model/model.h"
#include "model/synthetic_model.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

using namespace citadel;

namespace {

struct EngineTest : public ::testing::Test {
  void SetUp() override {
    path = test::models_dir() + "/stories260K/stories260K-f32.gguf";
    REQUIRE_FILE(path);
    model = Model::load(path);
    tok = Tokenizer::from_gguf(model->gguf());
  }
  GenerationRequest request(const std::string& prompt, int max_tokens) {
    GenerationRequest r;
    r.prompt = tok->encode(prompt, true);
    r.max_tokens = max_tokens;
    r.sampling.temperature = 0;
    return r;
  }
  std::pair<std::string, std::vector<int32_t>> collect(RequestStream& s) {
    std::string text;
    std::vector<int32_t> ids;
    TokenEvent ev;
    while (s.next(ev)) {
      text += ev.text;
      if (ev.token >= 0) ids.push_back(ev.token);
    }
    return {text, ids};
  }
  std::string path;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
};

}  // namespace

TEST_F(EngineTest, SingleRequestMatchesGolden) {
  auto golden = nlohmann::json::parse(test::read_file(test::shared_dir() + "/golden/stories260K.json"));
  EngineOptions opt;
  opt.parallel = 4;
  Engine engine(*model, *tok, opt);
  auto s = engine.submit(request("Once upon a time", 64));
  auto [text, ids] = collect(*s);
  EXPECT_EQ(ids, golden["generated_ids"].get<std::vector<int32_t>>());
  EXPECT_EQ(text, golden["generated_text"].get<std::string>());
  EXPECT_EQ(s->result().reason, FinishReason::Length);
  EXPECT_EQ(s->result().prompt_tokens, 5);
  EXPECT_EQ(s->result().completion_tokens, 64);
}

// The response cache stores recorded(): every event from the first, even when the engine ran
// ahead of the caller (recording used to start after submit() returned, and an answer could be
// stored without its first tokens).
TEST_F(EngineTest, ARecordedStreamKeepsEveryEventFromTheFirst) {
  Engine engine(*model, *tok, EngineOptions{});
  auto recorded = engine.submit(request("Once upon a time", 24), true);
  auto plain = engine.submit(request("Once upon a time", 24));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the engine runs ahead of us
  const auto [text, ids] = collect(*recorded);
  collect(*plain);
  std::string kept_text;
  std::vector<int32_t> kept_ids;
  for (const TokenEvent& ev : recorded->recorded()) {
    kept_text += ev.text;
    if (ev.token >= 0) kept_ids.push_back(ev.token);
  }
  EXPECT_EQ(ids.size(), 24u);
  EXPECT_EQ(kept_ids, ids);
  EXPECT_EQ(kept_text, text);
  EXPECT_TRUE(plain->recorded().empty());
}

TEST_F(EngineTest, ConcurrentRequestsAreIndependent) {
  const std::vector<std::string> prompts = {"Once upon a time", "The little dog", "Lily and Tom went to",
                                            "One day, a big bird", "The sun was", "Sam had a red ball",
                                            "Once upon a time, there was", "A cat"};
  // Reference: each prompt alone through the plain generator.
  std::vector<std::vector<int32_t>> want;
  ThreadPool pool(1);
  for (const auto& p : prompts) {
    GenerateOptions g;
    g.max_tokens = 40;
    g.sampling.temperature = 0;
    want.push_back(generate(*model, *tok, pool, p, g).ids);
  }
  EngineOptions opt;
  opt.parallel = 5;  // fewer slots than requests: some wait, then join the running batch
  opt.batch_tokens = 7;  // forces chunked prefill
  Engine engine(*model, *tok, opt);
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (const auto& p : prompts) streams.push_back(engine.submit(request(p, 40)));
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto [text, ids] = collect(*streams[i]);
    // EOS may end a story early: the engine then stops exactly where the generator did.
    EXPECT_EQ(ids, want[i]) << prompts[i];
  }
  // Streams end before the engine's step bookkeeping: drain waits for it.
  EXPECT_TRUE(engine.drain(std::chrono::seconds(5)));
  EngineStats st = engine.stats();
  EXPECT_EQ(st.running, 0);
  EXPECT_GT(st.kv_blocks_used, 0);  // the prefix cache keeps finished prompts' full blocks
}

TEST_F(EngineTest, PrefixCacheReusesBlocksWithoutChangingOutput) {
  EngineOptions opt;
  opt.parallel = 2;
  Engine engine(*model, *tok, opt);
  const std::string prompt =
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends";
  auto first = collect(*engine.submit(request(prompt, 20)));
  auto again = engine.submit(request(prompt, 20));
  auto second = collect(*again);
  EXPECT_EQ(first.second, second.second);
  EXPECT_GE(again->result().cached_prompt_tokens, 16);
  EXPECT_GT(engine.stats().prefix_cache_hit_tokens, 0);
}

TEST_F(EngineTest, CancelFreesTheSlot) {
  EngineOptions opt;
  opt.parallel = 1;
  Engine engine(*model, *tok, opt);
  auto r = request("Once upon a time", 100);
  r.stop_at_eos = false;
  auto s = engine.submit(r);
  TokenEvent ev;
  ASSERT_TRUE(s->next(ev));
  s->cancel();
  while (s->next(ev)) {
  }
  EXPECT_EQ(s->result().reason, FinishReason::Cancelled);
  // The single slot is free again: a new request completes.
  auto t = engine.submit(request("The dog", 5));
  collect(*t);
  EXPECT_EQ(t->result().completion_tokens, 5);
}

TEST_F(EngineTest, QueueLimitAndBadRequests) {
  EngineOptions opt;
  opt.parallel = 1;
  opt.max_queue = 1;
  Engine engine(*model, *tok, opt);
  auto r = request("Once upon a time", 60);
  r.stop_at_eos = false;
  auto a = engine.submit(r);
  // Wait until the first request runs, so exactly one can wait.
  TokenEvent ev;
  ASSERT_TRUE(a->next(ev));
  auto b = engine.submit(r);
  EXPECT_THROW(engine.submit(r), QueueFull);
  GenerationRequest empty;
  EXPECT_THROW(engine.submit(empty), std::invalid_argument);
  GenerationRequest huge = request("x", 5);
  huge.prompt.assign(10000, 300);
  EXPECT_THROW(engine.submit(huge), std::invalid_argument);
  GenerationRequest bad = request("x", 5);
  bad.prompt.push_back(99999);
  EXPECT_THROW(engine.submit(bad), std::invalid_argument);
  a->cancel();
  b->cancel();
}

TEST_F(EngineTest, StopStringsAndLogprobs) {
  EngineOptions opt;
  Engine engine(*model, *tok, opt);
  auto r = request("Once upon a time", 64);
  r.stop = {"Lily"};
  r.top_logprobs = 3;
  auto s = engine.submit(r);
  std::string text;
  TokenEvent ev;
  int events = 0;
  while (s->next(ev)) {
    text += ev.text;
    if (ev.token >= 0) {
      ++events;
      ASSERT_EQ(ev.top.size(), 3u);
      EXPECT_LE(ev.logprob, 0.0f);
      EXPECT_EQ(ev.top[0].id, ev.token);  // greedy: the chosen token is the most likely
      EXPECT_GE(ev.top[0].logprob, ev.top[1].logprob);
    }
  }
  EXPECT_EQ(text, ", there was a little girl named ");
  EXPECT_EQ(s->result().reason, FinishReason::Stop);
  EXPECT_GT(events, 0);
}

TEST(EngineNumerics, NonFiniteLogitsFailTheRequestAndAreCounted) {
  // Weights of size 1e20 overflow the attention scores to inf and the softmax to NaN: the request
  // must end with an error, not stream id 0 (the argmax of NaNs) to max_tokens.
  const std::string path = ::testing::TempDir() + "/citadel-engine-nan.gguf";
  ThreadPool pool(1);
  SynthOptions opt;
  opt.matrix_std = 1e20f;
  write_synthetic_model(*find_model_shape("llama-tiny"), opt, path, pool);
  auto model = Model::load(path);
  auto tok = Tokenizer::from_gguf(model->gguf());
  Engine engine(*model, *tok, EngineOptions{});
  GenerationRequest r;
  for (int32_t t = 0; t < 40; ++t) r.prompt.push_back(1 + t * 7);  // two full KV blocks and a part
  r.max_tokens = 8;
  for (int i = 1; i <= 2; ++i) {  // the second one must not reuse the first one's (NaN) KV blocks silently
    auto s = engine.submit(r);
    TokenEvent ev;
    int tokens = 0;
    while (s->next(ev)) tokens += ev.token >= 0;
    EXPECT_EQ(tokens, 0);
    EXPECT_EQ(s->result().reason, FinishReason::Error);
    EXPECT_EQ(s->result().error_code, "non_finite_logits");
    EXPECT_NE(s->result().error.find("non-finite logit"), std::string::npos) << s->result().error;
    EXPECT_EQ(s->result().cached_prompt_tokens, 0) << "a failed prompt's blocks were cached";
    EXPECT_EQ(engine.stats().non_finite_logits, i);
  }
  std::remove(path.c_str());
}
