// Hugging Face folders and llama2.c checkpoints: a folder made from a GGUF model runs in place with
// the same logits and greedy ids as the GGUF (llama, qwen2, qwen3 layouts, sharded, F32/BF16),
// converts back to the same tensors, and stories260K's llama2.c checkpoints give the golden ids.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/gguf.h"
#include "hf_fixture.h"
#include "model/hf_model.h"
#include "model/llama2c.h"
#include "model/model.h"
#include "model/synthetic_model.h"
#include "model/weight_source.h"
#include "test_paths.h"

using namespace citadel;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/citadel-hf-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
};

struct GreedyRun {
  std::vector<int32_t> ids;
  std::vector<std::vector<float>> logits;
};

// Greedy decoding by hand (the engine is a layer above): prompt in one batch, then token by token.
GreedyRun greedy(const Model& m, std::vector<int32_t> prompt, int n_gen) {
  ThreadPool pool(2);
  const HParams& hp = m.hparams();
  KvCache kv(hp, KvCache::blocks_for(prompt.size() + n_gen, 1));
  const int32_t seq = kv.add_sequence();
  kv.reserve(seq, prompt.size() + n_gen);
  GreedyRun r;
  std::vector<float> logits(hp.n_vocab);
  Batch b;
  for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], static_cast<int32_t>(i), seq, i + 1 == prompt.size());
  int32_t pos = static_cast<int32_t>(prompt.size());
  for (int step = 0; step < n_gen; ++step) {
    m.forward(b, kv, pool, logits.data());
    r.logits.push_back(logits);
    const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    r.ids.push_back(next);
    b.clear();
    b.add(next, pos++, seq, true);
  }
  return r;
}

float max_diff(const GreedyRun& a, const GreedyRun& b) {
  float d = 0;
  for (size_t s = 0; s < a.logits.size() && s < b.logits.size(); ++s)
    for (size_t i = 0; i < a.logits[s].size(); ++i) d = std::max(d, std::fabs(a.logits[s][i] - b.logits[s][i]));
  return d;
}

std::string synth(const std::string& shape, const std::string& dir) {
  ThreadPool pool(2);
  const std::string path = dir + "/" + shape + ".gguf";
  write_synthetic_model(*find_model_shape(shape), SynthOptions{}, path, pool);
  return path;
}

const std::vector<int32_t> kPrompt = {1, 403, 407, 261, 378, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 311, 312};

void expect_folder_matches(const std::string& gguf, const std::string& dtype, size_t shard_bytes) {
  TempDir dir;
  test::write_hf_folder(gguf, dir.path, dtype, shard_bytes);
  auto from_gguf = Model::load(gguf);
  auto from_folder = Model::load(dir.path);
  EXPECT_EQ(from_folder->hparams().arch, from_gguf->hparams().arch);
  EXPECT_EQ(from_folder->hparams().n_vocab, from_gguf->hparams().n_vocab);
  EXPECT_EQ(from_folder->hparams().head_dim, from_gguf->hparams().head_dim);
  const GreedyRun a = greedy(*from_gguf, kPrompt, 24), b = greedy(*from_folder, kPrompt, 24);
  EXPECT_EQ(a.ids, b.ids) << gguf << " " << dtype;
  if (dtype == "F32") {
    EXPECT_LT(max_diff(a, b), 1e-4f) << gguf;
  }
}

}  // namespace

TEST(HfFolder, SyntheticLlamaQwen2Qwen3RunLikeTheirGguf) {
  TempDir dir;
  for (const char* shape : {"llama-tiny", "qwen2-tiny", "qwen3-tiny"}) {
    SCOPED_TRACE(shape);
    expect_folder_matches(synth(shape, dir.path), "F32", 100 * 1024);  // several shards
  }
}

TEST(HfFolder, StoriesFolderRunsLikeTheGguf) {
  const std::string gguf = test::models_dir() + "/stories260K/stories260K-f32.gguf";
  REQUIRE_FILE(gguf);
  expect_folder_matches(gguf, "F32", 300 * 1024);
}

TEST(HfFolder, Bf16FolderRunsLikeItsBf16Conversion) {
  TempDir dir;
  const std::string gguf = synth("llama-tiny", dir.path);
  const std::string folder = dir.path + "/hf";
  std::system(("mkdir -p " + folder).c_str());
  test::write_hf_folder(gguf, folder, "BF16", 1 << 30);
  ThreadPool pool(2);
  write_gguf(*open_hf_folder(folder), parse_file_type("bf16"), dir.path + "/bf16.gguf", pool);
  auto a = Model::load(folder);
  auto b = Model::load(dir.path + "/bf16.gguf");
  const GreedyRun ra = greedy(*a, kPrompt, 16), rb = greedy(*b, kPrompt, 16);
  EXPECT_EQ(ra.ids, rb.ids);
  EXPECT_LT(max_diff(ra, rb), 1e-4f);
}

TEST(HfFolder, ConvertsBackToTheOriginalTensorsAndVocabulary) {
  const std::string gguf = test::models_dir() + "/stories260K/stories260K-f32.gguf";
  REQUIRE_FILE(gguf);
  TempDir dir;
  test::write_hf_folder(gguf, dir.path, "F32", 300 * 1024);
  ThreadPool pool(2);
  const std::string out = dir.path + "/back.gguf";
  write_gguf(*open_hf_folder(dir.path), parse_file_type("f32"), out, pool);
  auto orig = GgufFile::open(gguf);
  auto back = GgufFile::open(out);
  ASSERT_EQ(back->tensors().size(), orig->tensors().size());
  for (const GgufTensorInfo& t : orig->tensors()) {
    const GgufTensorInfo* u = back->find_tensor(t.name);
    ASSERT_NE(u, nullptr) << t.name;
    EXPECT_EQ(u->shape, t.shape) << t.name;
    ASSERT_EQ(u->nbytes, t.nbytes) << t.name;
    EXPECT_EQ(0, std::memcmp(u->data, t.data, t.nbytes)) << t.name;
  }
  for (const char* key : {"tokenizer.ggml.tokens", "tokenizer.ggml.token_type"})
    EXPECT_EQ(back->find(key)->to_display_string(1000), orig->find(key)->to_display_string(1000)) << key;
  EXPECT_EQ(back->find("tokenizer.ggml.scores")->as_floats(), orig->find("tokenizer.ggml.scores")->as_floats());
  EXPECT_EQ(back->get_int("tokenizer.ggml.bos_token_id", -1), 1);
  EXPECT_EQ(back->get_int("tokenizer.ggml.eos_token_id", -1), 2);
  EXPECT_EQ(back->get_int("llama.attention.head_count_kv", 0), 4);
}

TEST(HfFolder, Llama3RopeScalingGivesRopeFreqs) {
  TempDir dir;
  const std::string gguf = synth("llama-tiny", dir.path);
  const std::string folder = dir.path + "/hf";
  std::system(("mkdir -p " + folder).c_str());
  test::write_hf_folder(gguf, folder, "F32", 1 << 30);
  auto cfg = nlohmann::json::parse(std::ifstream(folder + "/config.json"));
  cfg["rope_theta"] = 500000.0;
  cfg["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  std::ofstream(folder + "/config.json") << cfg.dump();
  auto src = open_hf_folder(folder);
  const SourceTensor* rf = nullptr;
  for (const auto& t : src->tensors)
    if (t.name == "rope_freqs.weight") rf = &t;
  ASSERT_NE(rf, nullptr);
  ASSERT_EQ(rf->cols(), 16);  // head_dim 32 / 2
  std::vector<float> f(16);
  rf->row_f32(0, f.data());
  EXPECT_FLOAT_EQ(f[0], 1.0f);    // high frequencies untouched
  EXPECT_FLOAT_EQ(f[15], 8.0f);   // low frequencies divided by the factor
  for (int i = 1; i < 16; ++i) EXPECT_GE(f[i], f[i - 1]);
  auto m = Model::load(folder);  // binds rope_freqs
  EXPECT_TRUE(m->weights().rope_freqs.present());
}

TEST(HfFolder, ClearErrors) {
  TempDir dir;
  const std::string gguf = synth("qwen2-tiny", dir.path);
  const std::string folder = dir.path + "/hf";
  std::system(("mkdir -p " + folder).c_str());
  test::write_hf_folder(gguf, folder, "F32", 1 << 30);
  auto cfg = nlohmann::json::parse(std::ifstream(folder + "/config.json"));
  auto error = [&](nlohmann::json c) {
    std::ofstream(folder + "/config.json") << c.dump();
    try {
      Model::load(folder);
    } catch (const FormatError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto c = cfg;
  c["model_type"] = "gpt_neox";
  EXPECT_NE(error(c).find("not supported"), std::string::npos);
  c = cfg;
  c.erase("hidden_size");
  EXPECT_NE(error(c).find("hidden_size"), std::string::npos);
  c = cfg;
  c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  EXPECT_NE(error(c).find("yarn"), std::string::npos);
  c = cfg;
  c["num_hidden_layers"] = 1;  // layer 1 tensors have no place
  EXPECT_NE(error(c).find("no GGUF equivalent"), std::string::npos);
  EXPECT_EQ(error(cfg), "");
}

class Llama2c : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::models_dir() + "/stories260K";
    REQUIRE_FILE(dir_ + "/checkpoint_legacy.bin");
    REQUIRE_FILE(test::shared_dir() + "/golden/stories260K.json");
  }
  std::string dir_;
};

TEST_F(Llama2c, LegacyAndV1GiveTheGoldenIdsAndTheReferenceTensors) {
  auto golden = nlohmann::json::parse(test::read_file(test::shared_dir() + "/golden/stories260K.json"));
  const auto prompt = golden["prompt_ids"].get<std::vector<int32_t>>();
  const auto ids = golden["generated_ids"].get<std::vector<int32_t>>();
  auto ref = GgufFile::open(dir_ + "/stories260K-f32.gguf");
  TempDir tmp;
  ThreadPool pool(2);
  for (const char* ckpt : {"checkpoint_legacy.bin", "checkpoint_v1.bin"}) {
    SCOPED_TRACE(ckpt);
    EXPECT_TRUE(is_llama2c_checkpoint(dir_ + "/" + ckpt));
    const std::string out = tmp.path + "/" + ckpt + ".gguf";
    write_gguf(*open_llama2c(dir_ + "/" + ckpt, dir_ + "/tokenizer.bin"), parse_file_type("f32"), out, pool);
    auto f = GgufFile::open(out);
    for (const GgufTensorInfo& t : ref->tensors()) {
      const GgufTensorInfo* u = f->find_tensor(t.name);
      ASSERT_NE(u, nullptr) << t.name;
      ASSERT_EQ(u->nbytes, t.nbytes);
      EXPECT_EQ(0, std::memcmp(u->data, t.data, t.nbytes)) << t.name;
    }
    EXPECT_EQ(f->find("tokenizer.ggml.tokens")->as_strings(), ref->find("tokenizer.ggml.tokens")->as_strings());
    EXPECT_EQ(f->find("tokenizer.ggml.token_type")->as_ints(), ref->find("tokenizer.ggml.token_type")->as_ints());
    auto m = Model::load(out);
    EXPECT_EQ(greedy(*m, prompt, static_cast<int>(ids.size())).ids, ids);
  }
}

TEST_F(Llama2c, RejectsWhatIsNotACheckpoint) {
  EXPECT_FALSE(is_llama2c_checkpoint(dir_ + "/tokenizer.bin"));
  EXPECT_FALSE(is_llama2c_checkpoint(dir_ + "/stories260K-f32.gguf"));
  TempDir tmp;
  // A truncated checkpoint names the sizes.
  std::system(("head -c 5000 " + dir_ + "/checkpoint_v1.bin > " + tmp.path + "/cut.bin").c_str());
  try {
    open_llama2c(tmp.path + "/cut.bin", dir_ + "/tokenizer.bin");
    FAIL() << "no error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("header needs"), std::string::npos) << e.what();
  }
}
