// citadel quantize + citadel perplexity on stories260K and the test text: the figures match
// llama.cpp's llama-perplexity (c392e50, same file, -c 128) and q8_0 stays within 2% of f32.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "test_paths.h"

using namespace citadel;

namespace {

const std::string kText = test::source_dir() + "/tests/data/text/tinystories_style.txt";

nlohmann::json perplexity(const std::string& model, const std::string& extra = "") {
  int status = -1;
  const std::string out = test::run_command(test::citadel_binary() + " perplexity -m " + model + " -f " + kText +
                                            " -c 128 --json -t 2 " + extra + " 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  return status == 0 ? nlohmann::json::parse(out) : nlohmann::json{{"perplexity", NAN}, {"tokens_scored", 0}};
}

}  // namespace

TEST(Perplexity, MatchesLlamaCppAndQ8StaysWithinTwoPercent) {
  const std::string dir = test::models_dir() + "/stories260K";
  REQUIRE_FILE(dir + "/stories260K-f32.gguf");
  char tmpl[] = "/tmp/citadel-ppl-XXXXXX";
  const std::string tmp = ::mkdtemp(tmpl);

  const auto f32 = perplexity(dir + "/stories260K-f32.gguf");
  EXPECT_EQ(f32["tokens_scored"], 65 * 63);  // 65 windows of 128, scoring 63 tokens each
  EXPECT_EQ(f32["nonfinite_logits"], 0);
  const double p32 = f32["perplexity"];
  // llama-perplexity -c 128 on the same file: Final estimate: PPL = 4.5970 +/- 0.12975.
  EXPECT_NEAR(p32, 4.5970, 0.0005);

  int status = -1;
  const std::string log = test::run_command(test::citadel_binary() + " quantize " + dir + "/stories260K-f32.gguf " +
                                            tmp + "/q8_0.gguf q8_0 2>&1", &status);
  ASSERT_EQ(status, 0) << log;
  EXPECT_NE(log.find("MiB ->"), std::string::npos) << log;
  const double p8 = perplexity(tmp + "/q8_0.gguf")["perplexity"];
  EXPECT_LT(std::fabs(p8 - p32) / p32, 0.02) << "q8_0 " << p8 << " vs f32 " << p32;
  // llama.cpp's own q8_0 file gives the same figure (llama-perplexity: 4.5970).
  EXPECT_NEAR(perplexity(dir + "/stories260K-q8_0-mix.gguf")["perplexity"].get<double>(), p8, 1e-6);

  // 4-bit loses more, but stays finite and in range (llama-perplexity on the q4_0 file: 5.1714).
  const double p4 = perplexity(dir + "/stories260K-q4_0-mix.gguf")["perplexity"];
  EXPECT_NEAR(p4, 5.1714, 0.01);

  // Token-by-token windows (batch 1) score the same text as whole-window batches.
  const auto b1 = perplexity(dir + "/stories260K-f32.gguf", "--batch 1 --chunks 4");
  const auto b128 = perplexity(dir + "/stories260K-f32.gguf", "--chunks 4");
  EXPECT_NEAR(b1["perplexity"].get<double>(), b128["perplexity"].get<double>(), 1e-4);
  std::system(("rm -rf " + tmp).c_str());
}

TEST(Perplexity, ShortTextIsAClearError) {
  const std::string model = test::models_dir() + "/stories260K/stories260K-f32.gguf";
  REQUIRE_FILE(model);
  int status = -1;
  const std::string out = test::run_command(test::citadel_binary() + " perplexity -m " + model + " -f " +
                                            test::source_dir() + "/tests/data/text/README.md -c 512 2>&1", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("needs at least"), std::string::npos) << out;
}
