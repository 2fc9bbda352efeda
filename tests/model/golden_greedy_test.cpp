// The bundled stories260K model (models/stories260K.gguf, in the repository) reproduces
// llama.cpp / llama2.c's greedy ids token for token at the model layer, without the tokenizer
// and engine layers above: the prompt is given as ids. This is the golden test the aarch64 cross
// build runs under qemu (with the NEON kernels); tests/engine/golden_test.cpp checks the same
// ids and the text through the tokenizer and generator.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "model/model.h"
#include "model/quant_mix.h"
#include "model/weight_source.h"
#include "test_paths.h"

using namespace citadel;

namespace {

// "Once upon a time" with BOS, and the 64 greedy ids that follow (../shared/golden/stories260K.json).
const std::vector<int32_t> kPromptIds = {1, 403, 407, 261, 378};
const std::vector<int32_t> kGoldenIds = {
    432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322,
    265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267,
    337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426, 13,  438, 310, 439, 419, 357, 336};

std::string bundled_model() { return test::source_dir() + "/models/stories260K.gguf"; }

// Greedy decoding by hand: the prompt in batches of `prompt_batch` tokens, then token by token.
std::vector<int32_t> greedy(const Model& m, int threads, int prompt_batch, int n_gen = 64,
                            KvType kv_type = KvType::F32) {
  ThreadPool pool(threads);
  const HParams& hp = m.hparams();
  const int64_t n = static_cast<int64_t>(kPromptIds.size()) + n_gen;
  KvCache kv(hp, KvCache::blocks_for(n, 1), kv_type);
  const int32_t seq = kv.add_sequence();
  kv.reserve(seq, n);
  std::vector<float> logits(hp.n_vocab);
  Batch b;
  int32_t pos = 0;
  for (size_t i = 0; i < kPromptIds.size(); ++i) {
    b.add(kPromptIds[i], pos++, seq, i + 1 == kPromptIds.size());
    if (b.size() == prompt_batch || i + 1 == kPromptIds.size()) {
      m.forward(b, kv, pool, logits.data());
      b.clear();
    }
  }
  std::vector<int32_t> ids;
  for (int step = 0; step < n_gen; ++step) {
    const auto next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    ids.push_back(next);
    if (step + 1 == n_gen) break;
    b.clear();
    b.add(next, pos++, seq, true);
    m.forward(b, kv, pool, logits.data());
  }
  return ids;
}

// The integers of the JSON array `"key": [...]` in `text` (the golden file's id lists; kept free of
// a JSON library, whose headers would double this file's build time under the cross build).
std::vector<int32_t> json_int_array(const std::string& text, const std::string& key) {
  const size_t k = text.find("\"" + key + "\"");
  const size_t open = text.find('[', k), close = text.find(']', open);
  if (k == std::string::npos || open == std::string::npos || close == std::string::npos) return {};
  std::string body = text.substr(open + 1, close - open - 1);
  for (char& c : body)
    if (c == ',') c = ' ';
  std::istringstream in(body);
  std::vector<int32_t> out;
  for (int32_t v; in >> v;) out.push_back(v);
  return out;
}

// A temporary directory, removed with its files.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/citadel-golden-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
};

}  // namespace

TEST(GoldenGreedy, EmbeddedIdsAreTheSharedGolden) {
  const std::string path = test::shared_dir() + "/golden/stories260K.json";
  REQUIRE_FILE(path);
  const std::string text = test::read_file(path);
  EXPECT_EQ(json_int_array(text, "prompt_ids"), kPromptIds);
  EXPECT_EQ(json_int_array(text, "generated_ids"), kGoldenIds);
}

TEST(GoldenGreedy, BundledF32ModelGivesTheGoldenIds) {
  REQUIRE_FILE(bundled_model());
  auto m = Model::load(bundled_model());
  for (int threads : {1, 2}) {
    EXPECT_EQ(greedy(*m, threads, 8), kGoldenIds) << threads << " threads, whole-prompt prefill";
    EXPECT_EQ(greedy(*m, threads, 1), kGoldenIds) << threads << " threads, token-by-token prefill";
  }
}

// An f16 KV cache rounds K and V to 11 significant bits; on this model greedy decoding still
// follows llama.cpp's ids (llama.cpp's own default cache is f16).
TEST(GoldenGreedy, F16KvCacheGivesTheGoldenIds) {
  auto m = Model::load(bundled_model());
  EXPECT_EQ(greedy(*m, 2, 8, 64, KvType::F16), kGoldenIds);
  EXPECT_EQ(greedy(*m, 1, 1, 64, KvType::F16), kGoldenIds);
}

TEST(GoldenGreedy, Q8_0GivesTheGoldenIds) {
  // llama.cpp's Q8_0 file (ffn_down stays F16) keeps the F32 ids; so does our own Q8_0 conversion.
  REQUIRE_FILE(bundled_model());
  std::vector<std::string> files;
  const std::string mix = test::models_dir() + "/stories260K/stories260K-q8_0-mix.gguf";
  if (test::file_exists(mix)) files.push_back(mix);
  TempDir dir;
  ThreadPool pool(2);
  files.push_back(dir.path + "/q8_0.gguf");
  write_gguf(*open_gguf_source(bundled_model()), parse_file_type("q8_0"), files.back(), pool);
  for (const std::string& f : files) EXPECT_EQ(greedy(*Model::load(f), 2, 8), kGoldenIds) << f;
}

TEST(GoldenGreedy, EveryFileTypeStartsWithTheGoldenIds) {
  // 16-bit types keep all 64 ids; 4- and 5-bit ones drift later (Q4_0 at token 24 in llama.cpp,
  // Q5_1 at 17 here), but the first 16 agree. The K types fall back to legacy blocks on this
  // model's 64- and 172-value rows; the K kernels are checked in tests/core/kernels_test.cpp.
  REQUIRE_FILE(bundled_model());
  TempDir dir;
  ThreadPool pool(2);
  for (const char* type : {"f16", "bf16", "q6_k", "q5_k_m", "q4_k_m", "q5_1", "q5_0", "q4_1", "q4_0"}) {
    const std::string path = dir.path + "/" + type + ".gguf";
    write_gguf(*open_gguf_source(bundled_model()), parse_file_type(type), path, pool);
    const std::vector<int32_t> ids = greedy(*Model::load(path), 2, 8);
    const size_t n_same = std::string(type).find("16") != std::string::npos ? 64 : 16;
    ASSERT_EQ(ids.size(), kGoldenIds.size()) << type;
    EXPECT_TRUE(std::equal(ids.begin(), ids.begin() + n_same, kGoldenIds.begin()))
        << type << ": the first " << n_same << " ids differ from the golden ones";
  }
}
