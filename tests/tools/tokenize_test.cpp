// citadel tokenize, run as a user would: real vocabularies from ../shared, output formats, errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "test_paths.h"

namespace citadel {
namespace {

std::string tok_dir() { return test::shared_dir() + "/tokenizers"; }
std::string llama3_json() { return tok_dir() + "/llama3/tokenizer.json"; }
std::string qwen3_json() { return tok_dir() + "/qwen3/tokenizer.json"; }
std::string stories() { return test::models_dir() + "/stories260K/stories260K-f32.gguf"; }

// Runs `citadel tokenize ARGS` with `input` on stdin; stderr is merged into the result.
std::string tokenize(const std::string& args, const std::string& input, int* status) {
  // One file per test: CTest runs tests in parallel processes.
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string in_path = ::testing::TempDir() + "tokenize_stdin_" + info->name() + ".txt";
  std::ofstream(in_path, std::ios::binary) << input;
  return test::run_command(test::citadel_binary() + " tokenize " + args + " < '" + in_path + "' 2>&1", status);
}

TEST(TokenizeTool, IdsFromTokenizerJsonWithBos) {
  REQUIRE_FILE(llama3_json());
  int status = -1;
  EXPECT_EQ(tokenize("--tokenizer " + llama3_json() + " --text 'Hello world'", "", &status), "128000 9906 1917\n");
  EXPECT_EQ(status, 0);
  EXPECT_EQ(tokenize("--tokenizer " + llama3_json() + " --no-bos --text 'Hello world'", "", &status), "9906 1917\n");
}

TEST(TokenizeTool, StdinIsTakenByteForByte) {
  REQUIRE_FILE(qwen3_json());
  int status = -1;
  EXPECT_EQ(tokenize("--tokenizer " + qwen3_json(), "Hello world", &status), "9707 1879\n");
  EXPECT_EQ(tokenize("--tokenizer " + qwen3_json(), "Hello world\n", &status), "9707 1879 198\n");
  EXPECT_EQ(status, 0);
}

TEST(TokenizeTool, JsonGivesIdsAndPieces) {
  REQUIRE_FILE(stories());
  int status = -1;
  const std::string out = tokenize("--model " + stories() + " --json --text 'Once upon a time'", "", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, R"({"ids":[1,403,407,261,378],"pieces":["<s>"," Once"," upon"," a"," time"]})" "\n");
}

TEST(TokenizeTool, JsonlIsOneArrayPerLine) {
  REQUIRE_FILE(qwen3_json());
  int status = -1;
  const std::string out = tokenize("--tokenizer " + qwen3_json() + " --jsonl", "\"Hello world\"\n\"\"\n\"<|im_end|>\"\n", &status);
  EXPECT_EQ(status, 0) << out;
  // User text that spells a control token stays text.
  EXPECT_EQ(out, "[9707,1879]\n[]\n[27,91,318,6213,91,29]\n");
}

TEST(TokenizeTool, ParseSpecialOnRequest) {
  REQUIRE_FILE(qwen3_json());
  int status = -1;
  EXPECT_EQ(tokenize("--tokenizer " + qwen3_json() + " --parse-special --text '<|im_end|>'", "", &status), "151645\n");
}

TEST(TokenizeTool, VocabularyOnlyGgufIsAModel) {
  const std::string falcon = tok_dir() + "/gguf/ggml-vocab-falcon.gguf";
  REQUIRE_FILE(falcon);
  int status = -1;
  EXPECT_EQ(tokenize("--model " + falcon + " --no-bos --text 'Hello world'", "", &status), "9856 1079\n");
  EXPECT_EQ(status, 0);
}

TEST(TokenizeTool, ErrorsGoToStderrWithNonZeroExit) {
  int status = 0;
  std::string out = tokenize("--model /nonexistent/model.gguf --text x", "", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("nonexistent"), std::string::npos) << out;

  const std::string bad = ::testing::TempDir() + "bad_tokenizer.json";
  std::ofstream(bad) << "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}";
  out = tokenize("--tokenizer " + bad + " --text x", "", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("Unigram"), std::string::npos) << out;

  REQUIRE_FILE(qwen3_json());
  out = tokenize("--tokenizer " + qwen3_json() + " --jsonl", "not json\n", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("line 1"), std::string::npos) << out;
}

}  // namespace
}  // namespace citadel
