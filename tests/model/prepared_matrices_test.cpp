// Model::load copies the matrices it does not re-lay into huge pages (core/repack.h): the copies
// must give exactly the logits of the file's mapping (CITADEL_REPACK=0), in prefill (tiles) and
// decode (dot), and sit at 64-byte aligned addresses outside the file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "model/model.h"
#include "model/quant_mix.h"
#include "model/synthetic_model.h"

using namespace citadel;

namespace {

// Logits of a 21-token prefill (two tile groups and a padded one) and of the decode step after it.
std::vector<float> prefill_then_decode(const Model& m, ThreadPool& pool) {
  const int64_t V = m.hparams().n_vocab;
  KvCache kv(m.hparams(), KvCache::blocks_for(22, 1));
  const int32_t seq = kv.add_sequence();
  kv.reserve(seq, 22);
  Batch b;
  for (int32_t p = 0; p < 21; ++p) b.add(static_cast<int32_t>(1 + p * 13 % (V - 1)), p, seq, true);
  std::vector<float> logits(22 * V, NAN);
  m.forward(b, kv, pool, logits.data());
  Batch step;
  step.add(5, 21, seq, true);
  m.forward(step, kv, pool, logits.data() + 21 * V);
  return logits;
}

bool huge_pages_enabled() {
  FILE* f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (!f) return false;
  char line[128] = {};
  const bool on = std::fgets(line, sizeof line, f) && !std::strstr(line, "[never]");
  std::fclose(f);
  return on;
}

}  // namespace

TEST(PreparedMatrices, CopiesGiveTheLogitsOfTheFile) {
  char tmpl[] = "/tmp/citadel-prepared-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  ThreadPool pool(2);
  for (const char* type : {"f16", "bf16", "q8_0", "q4_k_m", "f32"}) {
    SCOPED_TRACE(type);
    const std::string path = dir + "/" + type + ".gguf";
    SynthOptions opt;
    opt.type = parse_file_type(type);
    write_synthetic_model(*find_model_shape("llama-tiny"), opt, path, pool);
    ::setenv("CITADEL_REPACK", "0", 1);
    auto file = Model::load(path);
    ::unsetenv("CITADEL_REPACK");
    auto copied = Model::load(path);

    const Tensor& in_file = file->weights().layers[0].ffn_down;
    const Tensor& copy = copied->weights().layers[0].ffn_down;
    ASSERT_EQ(std::memcmp(in_file.data, copy.data, in_file.rows() * in_file.row_size()), 0);
    if (huge_pages_enabled()) {
      EXPECT_NE(in_file.data, copy.data) << "not copied";
      for (const LayerWeights& l : copied->weights().layers)
        for (const Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
          EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % 64, 0u) << t->name;
    }
    const std::vector<float> a = prefill_then_decode(*file, pool), b = prefill_then_decode(*copied, pool);
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_TRUE(std::isfinite(a[i])) << i;
      ASSERT_EQ(a[i], b[i]) << "logit " << i;  // the same bytes through the same kernels
    }
    std::remove(path.c_str());
  }
  ::rmdir(dir.c_str());
}
