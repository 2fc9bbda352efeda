// citadel convert / generate --model DIR end to end: llama2.c checkpoints and a Hugging Face folder
// of stories260K give the golden ids; tokenizer.json files become GGUF vocabularies that encode
// exactly as the tokenizer.json itself.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../model/hf_fixture.h"
#include "core/gguf.h"
#include "core/gguf_writer.h"
#include "model/hf_tokenizer.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

using namespace citadel;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/citadel-convert-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
};

nlohmann::json generate_json(const std::string& model) {
  int status = -1;
  const std::string out = test::run_command(test::citadel_binary() + " generate -m " + model +
                                            " -p 'Once upon a time' -n 64 --temperature 0 --json -t 2 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  return status == 0 ? nlohmann::json::parse(out) : nlohmann::json();
}

class ConvertStories : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::models_dir() + "/stories260K";
    REQUIRE_FILE(dir_ + "/checkpoint_v1.bin");
    REQUIRE_FILE(test::shared_dir() + "/golden/stories260K.json");
    golden_ = nlohmann::json::parse(test::read_file(test::shared_dir() + "/golden/stories260K.json"));
  }
  std::string dir_;
  nlohmann::json golden_;
};

}  // namespace

TEST_F(ConvertStories, Llama2cCheckpointsGiveTheGoldenIds) {
  TempDir tmp;
  for (const char* ckpt : {"checkpoint_legacy.bin", "checkpoint_v1.bin"}) {
    const std::string out = tmp.path + "/" + ckpt + ".gguf";
    int status = -1;
    const std::string log = test::run_command(test::citadel_binary() + " convert " + dir_ + "/" + ckpt + " " + out + " 2>&1", &status);
    ASSERT_EQ(status, 0) << log;
    EXPECT_NE(log.find("48 tensors"), std::string::npos) << log;
    const auto j = generate_json(out);
    EXPECT_EQ(j["prompt_ids"], golden_["prompt_ids"]) << ckpt;
    EXPECT_EQ(j["ids"], golden_["generated_ids"]) << ckpt;
    EXPECT_EQ(j["text"], golden_["generated_text"]) << ckpt;
  }
}

TEST_F(ConvertStories, HuggingFaceFolderRunsAndConverts) {
  TempDir tmp;
  test::write_hf_folder(dir_ + "/stories260K-f32.gguf", tmp.path, "F32", 300 * 1024);
  // Run in place: the tokenizer comes from tokenizer.model.
  auto j = generate_json(tmp.path);
  EXPECT_EQ(j["prompt_ids"], golden_["prompt_ids"]);
  EXPECT_EQ(j["ids"], golden_["generated_ids"]);
  // Converted, f32 and q8_0.
  for (const char* type : {"f32", "q8_0"}) {
    const std::string out = tmp.path + "/out-" + type + ".gguf";
    int status = -1;
    const std::string log = test::run_command(test::citadel_binary() + " convert " + tmp.path + " " + out + " --type " + type + " 2>&1", &status);
    ASSERT_EQ(status, 0) << log;
    j = generate_json(out);
    EXPECT_EQ(j["prompt_ids"], golden_["prompt_ids"]) << type;
    if (std::string(type) == "f32") EXPECT_EQ(j["ids"], golden_["generated_ids"]);
    else EXPECT_EQ(j["ids"].size(), 64u);
  }
}

TEST(Convert, RefusesWhatItCannotRead) {
  int status = -1;
  const std::string out = test::run_command(test::citadel_binary() + " convert /etc/hostname /tmp/x.gguf 2>&1", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("neither"), std::string::npos) << out;
}

TEST(HfTokenizerMetadata, TokenizerJsonEncodesAsTheGgufVocabulary) {
  const std::string shared = test::shared_dir() + "/tokenizers";
  const std::vector<std::string> texts = {
      "Hello world! How are you doing today?", "  leading spaces and\ttabs\nnew lines\n\n",
      "Numbers 1234567 and 3.14159, don't they'll we're", "Ünïcödé: 日本語のテキスト, emoji 🤖🚀",
      "<|im_start|>user\nhi<|im_end|>", "code: for (int i = 0; i < 10; ++i) { x += i; }"};
  for (const char* name : {"qwen3", "llama3"}) {
    SCOPED_TRACE(name);
    const std::string dir = shared + "/" + name;
    REQUIRE_FILE(dir + "/tokenizer.json");
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    ASSERT_TRUE(add_hf_tokenizer_metadata(dir, w));
    const std::vector<uint8_t> bytes = w.to_bytes();
    auto gguf = GgufFile::parse(bytes.data(), bytes.size(), name);
    EXPECT_EQ(gguf->get_string("tokenizer.ggml.model"), "gpt2");
    EXPECT_EQ(gguf->get_string("tokenizer.ggml.pre"), std::string(name) == "qwen3" ? "qwen2" : "llama-bpe");
    auto from_gguf = Tokenizer::from_gguf(*gguf);
    auto from_json = Tokenizer::from_hf_files(dir + "/tokenizer.json", dir + "/tokenizer_config.json");
    EXPECT_EQ(from_gguf->n_vocab(), from_json->n_vocab());
    EXPECT_EQ(from_gguf->eos_id(), from_json->eos_id());
    for (const std::string& t : texts) {
      EXPECT_EQ(from_gguf->encode(t, true), from_json->encode(t, true)) << t;
      EXPECT_EQ(from_gguf->encode(t, false, true), from_json->encode(t, false, true)) << t;
    }
  }
}
