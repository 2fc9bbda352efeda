// Each architecture against llama.cpp's logits on a random-weight model of that layout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "model/model.h"
#include "model/synthetic_model.h"
#include "test_paths.h"

using namespace citadel;

namespace {

std::string temp_model(const std::string& shape) {
  // Named after the test too: CTest runs tests in parallel processes, and a file rewritten under
  // another process's mapping would crash it.
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string test = std::string(info->test_suite_name()) + "." + info->name();
  std::replace(test.begin(), test.end(), '/', '_');
  const std::string path = ::testing::TempDir() + "/citadel-arch-" + shape + "-" + test + ".gguf";
  ThreadPool pool(2);
  write_synthetic_model(*find_model_shape(shape), SynthOptions{}, path, pool);
  return path;
}

// Greedy decode with the model, returning the logits that chose each step.
std::vector<std::vector<float>> greedy_logits(const Model& m, const std::vector<int32_t>& prompt, int steps,
                                              std::vector<int32_t>* ids, int threads) {
  const HParams& hp = m.hparams();
  KvCache kv(hp, KvCache::blocks_for(prompt.size() + steps, 1));
  int32_t seq = kv.add_sequence();
  kv.reserve(seq, static_cast<int64_t>(prompt.size()) + steps);
  ThreadPool pool(threads);
  Batch b;
  for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], static_cast<int32_t>(i), seq, i + 1 == prompt.size());
  std::vector<float> logits(hp.n_vocab);
  m.forward(b, kv, pool, logits.data());
  std::vector<std::vector<float>> out;
  for (int s = 0; s < steps; ++s) {
    out.push_back(logits);
    int32_t best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    ids->push_back(best);
    b.clear();
    b.add(best, static_cast<int32_t>(prompt.size()) + s, seq, true);
    m.forward(b, kv, pool, logits.data());
  }
  return out;
}

class ArchitectureVsLlamaCpp : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(ArchitectureVsLlamaCpp, SameIdsAndLogits) {
  const std::string shape = GetParam();
  auto ref = nlohmann::json::parse(test::read_file(test::source_dir() + "/tests/data/arch/" + shape + ".json"));
  const std::string path = temp_model(shape);
  auto model = Model::load(path);
  EXPECT_EQ(model->hparams().arch, find_model_shape(shape)->arch);
  const auto prompt = ref["prompt_ids"].get<std::vector<int32_t>>();
  for (int threads : {1, 2}) {
    std::vector<int32_t> ids;
    auto logits = greedy_logits(*model, prompt, static_cast<int>(ref["steps"].size()), &ids, threads);
    float max_diff = 0, max_abs = 0;
    for (size_t s = 0; s < ref["steps"].size(); ++s) {
      EXPECT_EQ(ids[s], ref["steps"][s]["id"].get<int32_t>()) << shape << " step " << s;
      const auto want = ref["steps"][s]["logits"].get<std::vector<float>>();
      ASSERT_EQ(want.size(), logits[s].size());
      for (size_t i = 0; i < want.size(); ++i) {
        max_diff = std::max(max_diff, std::fabs(want[i] - logits[s][i]));
        max_abs = std::max(max_abs, std::fabs(want[i]));
      }
    }
    EXPECT_LT(max_diff, 2e-3f * std::max(1.0f, max_abs)) << shape << ": max |logit diff| " << max_diff;
  }
  std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Shapes, ArchitectureVsLlamaCpp,
                         ::testing::Values("llama-tiny", "qwen2-tiny", "falcon-tiny", "falcon40-tiny"));

TEST(Architecture, Qwen3HeadSizeFromKeyLength) {
  // Qwen3's head size (64) differs from embedding / heads (32): shapes must follow key_length.
  const std::string path = temp_model("qwen3-tiny");
  auto model = Model::load(path);
  EXPECT_EQ(model->hparams().head_dim, 64);
  EXPECT_EQ(model->hparams().q_dim(), 256);
  EXPECT_TRUE(model->weights().layers[0].q_norm.present());
  std::vector<int32_t> ids;
  auto logits = greedy_logits(*model, {1, 300, 301}, 4, &ids, 2);
  for (const auto& row : logits)
    for (float v : row) ASSERT_TRUE(std::isfinite(v));
  std::remove(path.c_str());
}

TEST(Architecture, UnknownArchitectureIsAClearError) {
  const std::string path = temp_model("llama-tiny");
  std::string bytes = test::read_file(path);
  // Rename the architecture in place ("llama" -> "lxama") without changing lengths.
  size_t at = bytes.find("llama");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 1] = 'x';
  const std::string bad = path + ".bad.gguf";
  FILE* f = std::fopen(bad.c_str(), "wb");
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  try {
    Model::load(bad);
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("lxama"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
  std::remove(bad.c_str());
}
