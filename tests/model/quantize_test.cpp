// Quantized models: every file type written from stories260K (or a synthetic llama when the real
// model is absent) loads, and its logits are finite and agree across batch sizes (prefill of 1,
// 15, 16, 17, 32 and 64 tokens walks different kernel paths: llama.cpp's AMX path returned NaN at
// 16+ tokens for Q8_0/Q4_0), and stay close to the f32 model's.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "core/gguf.h"
#include "core/kernels/kernels.h"
#include "model/model.h"
#include "model/synthetic_model.h"
#include "model/weight_source.h"
#include "test_paths.h"

using namespace citadel;

namespace {

// Logits of every position of `tokens`, run in batches of `batch` tokens.
std::vector<float> all_logits(const Model& m, const std::vector<int32_t>& tokens, int batch, ThreadPool& pool) {
  const int64_t n = static_cast<int64_t>(tokens.size()), V = m.hparams().n_vocab;
  KvCache kv(m.hparams(), KvCache::blocks_for(n, 1));
  const int32_t seq = kv.add_sequence();
  kv.reserve(seq, n);
  std::vector<float> out(n * V);
  for (int64_t b0 = 0; b0 < n; b0 += batch) {
    Batch b;
    for (int64_t i = b0; i < std::min(n, b0 + batch); ++i) b.add(tokens[i], static_cast<int32_t>(i), seq, true);
    m.forward(b, kv, pool, out.data() + b0 * V);
  }
  return out;
}

}  // namespace

TEST(Quantize, EveryTypeGivesFiniteConsistentLogitsForEveryBatchSize) {
  char tmpl[] = "/tmp/citadel-quant-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  ThreadPool pool(2);
  std::string f32 = test::models_dir() + "/stories260K/stories260K-f32.gguf";
  if (!test::file_exists(f32)) {
    f32 = dir + "/llama-tiny.gguf";
    write_synthetic_model(*find_model_shape("llama-tiny"), SynthOptions{}, f32, pool);
  }
  auto ref = Model::load(f32);
  std::vector<int32_t> tokens;
  for (int i = 0; i < 64; ++i) tokens.push_back(i == 0 ? 1 : 259 + (i * 37) % 250);
  const std::vector<float> want = all_logits(*ref, tokens, 64, pool);

  for (const char* type : {"f32", "f16", "bf16", "q8_0", "q6_k", "q5_k_m", "q5_1", "q5_0", "q4_k_m", "q4_1", "q4_0"}) {
    SCOPED_TRACE(type);
    const std::string path = dir + "/" + type + ".gguf";
    write_gguf(*open_gguf_source(f32), parse_file_type(type), path, pool);
    auto m = Model::load(path);
    EXPECT_EQ(GgufFile::open(path)->get_int("general.file_type", -1), gguf_file_type_id(parse_file_type(type)));
    std::vector<float> first;
    for (int batch : {64, 1, 15, 16, 17, 32}) {
      const std::vector<float> got = all_logits(*m, tokens, batch, pool);
      size_t nonfinite = 0;
      for (float v : got) nonfinite += !std::isfinite(v);
      ASSERT_EQ(nonfinite, 0u) << "batch " << batch;
      if (first.empty()) first = got;
      float batch_diff = 0, ref_diff = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        batch_diff = std::max(batch_diff, std::fabs(got[i] - first[i]));
        ref_diff = std::max(ref_diff, std::fabs(got[i] - want[i]));
      }
      // Float types take the same arithmetic in every path; block types may round the activations
      // to 8 bits in one path (as ggml's vec_dot does) and not in another, and so may BF16 to bf16
      // where the prefill tile runs on vdpbf16ps (kernels::KernelSet::bf16_tile_rounds_activations).
      const bool float_type =
          type[0] == 'f' || (type[0] == 'b' && !kernels::active().bf16_tile_rounds_activations);
      EXPECT_LT(batch_diff, float_type ? 1e-3f : 0.5f) << "batch " << batch << " differs from a whole-prompt batch";
      // Logits of stories260K span about +-15; 4-bit types move them by a few units at most.
      const float tolerance = std::string(type) == "f32" ? 1e-4f : std::string(type).find('4') != std::string::npos ? 6.0f : 3.0f;
      EXPECT_LT(ref_diff, tolerance) << "batch " << batch << " vs f32";
    }
  }
  std::system(("rm -rf " + dir).c_str());
}

TEST(Quantize, RowsThatDoNotFillABlockFallBack) {
  // stories260K's ffn_down rows have 172 values: no 32- or 256-value block fits, so they stay f16.
  const std::string f32 = test::models_dir() + "/stories260K/stories260K-f32.gguf";
  REQUIRE_FILE(f32);
  char tmpl[] = "/tmp/citadel-quant-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  ThreadPool pool(2);
  write_gguf(*open_gguf_source(f32), parse_file_type("q4_k_m"), dir + "/q.gguf", pool);
  auto f = GgufFile::open(dir + "/q.gguf");
  EXPECT_EQ(f->find_tensor("blk.0.ffn_down.weight")->type, TensorType::F16);
  EXPECT_EQ(f->find_tensor("blk.0.ffn_up.weight")->type, TensorType::Q5_0);  // 64 values: Q4_K -> Q5_0
  EXPECT_EQ(f->find_tensor("output.weight")->type, TensorType::Q8_0);         // Q6_K -> Q8_0
  EXPECT_EQ(f->find_tensor("blk.0.attn_norm.weight")->type, TensorType::F32);
  // Metadata (tokenizer included) is carried over.
  EXPECT_EQ(f->find("tokenizer.ggml.tokens")->array_size(), 512u);
  std::system(("rm -rf " + dir).c_str());
}
