// The engine's forward pass against the double-precision reference (reference_model.h), with
// every kernel set this machine runs, on random-weight models of every architecture at weight
// scales that make the large attention scores and activations of trained models (attention-sink
// heads), head sizes 32/64/128, f32 and f16 KV, 1-3 threads, and a 112-position sequence fed in
// chunks of 1 to 40 tokens (several KV blocks; the dot, padded-tile, tile and decode paths).
//
// What must agree (measured over every case and set, then given 2-3x headroom):
// - logits: max |logit - reference| / max(1, max |reference logit|) per position, at most
//   tolerance() below. Float rounding is amplified by the random network's gain (a 0.5-scale
//   256-wide matrix multiplies a perturbation by ~8), and with f16 KV or 8-bit activations (the
//   quantized types; the reference quantizes matmul inputs as the types define) a value close to
//   a rounding boundary may round the other way than in the reference: one step of 2^-11 or of
//   1/127 of its block's largest value, amplified likewise. Hence the spread by scale.
// - greedy ids: wherever the reference's top-2 margin is at least 0.1 (and more than twice the
//   logit tolerance) every id with float weights and f32 KV; with f16 KV or 8-bit activations,
//   where such a flip may move a clear margin at the two larger scales, all but 5% of the ids
//   whose margin is at least 0.1. A broken kernel or softmax moves most ids (a flattened head
//   changes the logits by tens of percent).
// Threads rotate over 1/2/3 across cases and KV types, so each set meets every (threads, KV) pair.
// An emulated kernel set (kernels::KernelSet::emulated) runs in one case of 5.
// $CITADEL_FIDELITY_SAMPLE=N runs one case in N (every layout, head size, scale and type still
// occurs): scripts/test.sh sets it for the aarch64 build, which runs under qemu at ~1/20 the speed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/ops.h"
#include "model/model.h"
#include "model/synthetic_model.h"
#include "reference_model.h"

using namespace citadel;

namespace {

struct Layout {
  const char* name;
  const char* arch;
  int64_t n_head, n_head_kv;
  bool tied_output, falcon_norm2;
};
const Layout kLayouts[] = {
    {"llama", "llama", 4, 2, false, false},      // GQA, untied output
    {"qwen2", "qwen2", 4, 2, true, false},       // Q/K/V biases, tied output
    {"qwen3", "qwen3", 4, 2, false, false},      // QK norms, head size from key_length
    {"falcon7b", "falcon", 4, 1, true, false},   // MQA, one norm for both branches
    {"falcon40b", "falcon", 8, 2, false, true},  // GQA, two norms
};
const int64_t kHeadDims[] = {32, 64, 128};
const float kScales[] = {0.02f, 0.25f, 0.5f};
const char* const kTypes[] = {"f32", "f16", "q8_0", "q4_0", "q4_k_m"};

bool quantized(int type) { return std::string(kTypes[type]) != "f32" && std::string(kTypes[type]) != "f16"; }

double tolerance(int type, KvType kv, int scale) {
  static const double kFloatF32Kv[] = {5e-6, 1e-4, 3e-4};
  static const double kFloatF16Kv[] = {2e-5, 1.5e-2, 2e-2};
  static const double kQuantized[] = {2e-2, 0.15, 0.2};
  if (quantized(type)) return kQuantized[scale];
  return kv == KvType::F32 ? kFloatF32Kv[scale] : kFloatF16Kv[scale];
}

constexpr int kPositions = 112;  // 7 KV blocks
// Chunk sizes the sequence is fed in: single tokens (decode kernels), 2 (dots), 3-7 (a padded
// tile group), 8 and more (whole groups), 40 (groups and a padded rest).
const int kChunks[] = {5, 1, 1, 3, 8, 2, 13, 1, 40, 7, 1, 16, 1};

struct Case {
  int layout, head_dim, scale, type;
  std::string name() const {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s_hd%ld_s%03d_%s", kLayouts[layout].name, static_cast<long>(kHeadDims[head_dim]),
                  static_cast<int>(kScales[scale] * 100), kTypes[type]);
    return buf;
  }
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (int l = 0; l < 5; ++l)
    for (int h = 0; h < 3; ++h)
      for (int s = 0; s < 3; ++s)
        for (int t = 0; t < 5; ++t) cases.push_back({l, h, s, t});
  return cases;
}

std::string write_model(const Case& c) {
  const Layout& L = kLayouts[c.layout];
  const ModelShape shape{L.name, L.arch, 256, 2, L.n_head, L.n_head_kv, kHeadDims[c.head_dim], 512, 512, 256,
                         L.tied_output, L.falcon_norm2};
  SynthOptions opt;
  opt.type = parse_file_type(kTypes[c.type]);
  opt.matrix_std = kScales[c.scale];
  opt.embedding_std = 1.0f;
  opt.seed = 1000 + c.layout * 100 + c.head_dim * 10 + c.scale;
  const std::string path = ::testing::TempDir() + "/citadel-fidelity-" + c.name() + ".gguf";
  ThreadPool pool(1);
  write_synthetic_model(shape, opt, path, pool);
  return path;
}

// The token sequence: a fixed prompt, then the reference's own greedy choices.
struct ReferenceRun {
  std::vector<int32_t> tokens;
  std::vector<std::vector<double>> logits;  // per position
};

ReferenceRun run_reference(const std::string& path, bool kv_f16, const std::vector<int32_t>* tokens) {
  test::ReferenceModel ref(path, {.quantize_activations = true, .kv_f16 = kv_f16});
  ReferenceRun run;
  const int32_t prompt[] = {1, 300, 301, 7, 420};
  for (int p = 0; p < kPositions; ++p) {
    int32_t tok;
    if (tokens) tok = (*tokens)[p];
    else if (p < 5) tok = prompt[p];
    else tok = static_cast<int32_t>(std::max_element(run.logits.back().begin(), run.logits.back().end()) -
                                    run.logits.back().begin());
    run.tokens.push_back(tok);
    run.logits.push_back(ref.step(tok));
  }
  return run;
}

// The engine's logits at every position of `tokens`, fed in kChunks-sized batches.
std::vector<float> run_engine(const Model& m, const std::vector<int32_t>& tokens, int threads, KvType kv_type) {
  const int64_t n_vocab = m.hparams().n_vocab;
  KvCache kv(m.hparams(), KvCache::blocks_for(kPositions, 1), kv_type);
  const int32_t seq = kv.add_sequence();
  kv.reserve(seq, kPositions);
  ThreadPool pool(threads);
  std::vector<float> logits(static_cast<size_t>(kPositions * n_vocab));
  int pos = 0;
  for (size_t c = 0; pos < kPositions; ++c) {
    const int n = std::min(kChunks[c % std::size(kChunks)], kPositions - pos);
    Batch b;
    for (int i = 0; i < n; ++i) b.add(tokens[pos + i], pos + i, seq, true);
    m.forward(b, kv, pool, logits.data() + pos * n_vocab);
    pos += n;
  }
  return logits;
}

struct Comparison {
  double worst = 0;        // max relative logit error over the positions
  int worst_pos = -1;
  int id_mismatches = 0;   // positions with a clear reference margin and another argmax
  int checked_ids = 0;
  std::string first_mismatch;
};

// exact_ids: the ids checked are those whose margin no logit error within tol could flip.
Comparison compare(const ReferenceRun& ref, const std::vector<float>& got, int64_t n_vocab, double tol,
                   bool exact_ids) {
  Comparison c;
  for (int p = 0; p < kPositions; ++p) {
    const std::vector<double>& want = ref.logits[p];
    const float* row = got.data() + p * n_vocab;
    double max_abs = 1, max_err = 0;
    for (int64_t i = 0; i < n_vocab; ++i) {
      if (!std::isfinite(row[i])) max_err = INFINITY;
      max_abs = std::max(max_abs, std::fabs(want[i]));
      max_err = std::max(max_err, std::fabs(row[i] - want[i]));
    }
    if (max_err / max_abs > c.worst || std::isnan(max_err)) c.worst = max_err / max_abs, c.worst_pos = p;
    int64_t best = 0, second = -1;
    for (int64_t i = 1; i < n_vocab; ++i) {
      if (want[i] > want[best]) second = best, best = i;
      else if (second < 0 || want[i] > want[second]) second = i;
    }
    const double margin = want[best] - want[second];
    if (margin < (exact_ids ? std::max(0.1, 2 * tol * max_abs) : 0.1)) continue;
    ++c.checked_ids;
    const int64_t got_best = std::max_element(row, row + n_vocab) - row;
    if (got_best != best) {
      if (!c.id_mismatches)
        c.first_mismatch = "position " + std::to_string(p) + ": reference id " + std::to_string(best) + " (margin " +
                           std::to_string(margin) + "), engine id " + std::to_string(got_best);
      ++c.id_mismatches;
    }
  }
  return c;
}

class ReferenceFidelity : public ::testing::TestWithParam<Case> {
 protected:
  void TearDown() override { kernels::use_for_testing(saved_); }
  const kernels::KernelSet saved_ = kernels::active();
};

}  // namespace

TEST_P(ReferenceFidelity, EveryKernelSetMatchesTheReference) {
  const Case& c = GetParam();
  if (const char* sample = std::getenv("CITADEL_FIDELITY_SAMPLE"); sample && std::atoi(sample) > 1)
    if ((c.layout + c.head_dim + c.scale + c.type) % std::atoi(sample) != 0)
      GTEST_SKIP() << "CITADEL_FIDELITY_SAMPLE=" << sample << ": another case of this sample runs";
  const std::string path = write_model(c);
  const ReferenceRun ref32 = run_reference(path, false, nullptr);
  const ReferenceRun ref16 = run_reference(path, true, &ref32.tokens);
  int run = c.layout + c.head_dim + c.scale + c.type;  // rotates the thread counts over the cases
  for (const kernels::KernelSet* set : kernels::available()) {
    // An emulated set (avx512 through SIMDe, on CPUs without AVX-512) is several times slower:
    // it runs one case in 5, which still gives it every layout, head size, scale and type.
    if (set->emulated && (c.layout + c.head_dim + c.scale + c.type) % 5 != 0) continue;
    kernels::use_for_testing(*set);
    auto model = Model::load(path);  // after the switch: load-time choices see the set in use
    const int64_t n_vocab = model->hparams().n_vocab;
    for (KvType kv : {KvType::F32, KvType::F16}) {
      const int threads = 1 + run++ % 3;
      const ReferenceRun& ref = kv == KvType::F32 ? ref32 : ref16;
      const double tol = tolerance(c.type, kv, c.scale);
      const bool exact_ids = !quantized(c.type) && kv == KvType::F32;
      const Comparison cmp = compare(ref, run_engine(*model, ref.tokens, threads, kv), n_vocab, tol, exact_ids);
      const std::string what = std::string(set->name) + ", " + (kv == KvType::F32 ? "f32" : "f16") + " KV, " +
                                std::to_string(threads) + " threads";
      EXPECT_LE(cmp.worst, tol) << what << ": worst relative logit error " << cmp.worst << " at position "
                                << cmp.worst_pos;
      EXPECT_LE(cmp.id_mismatches, exact_ids ? 0 : cmp.checked_ids / 20) << what << ": " << cmp.id_mismatches << " of " << cmp.checked_ids
                                      << " clear ids differ; first at " << cmp.first_mismatch;
      if (std::getenv("CITADEL_FIDELITY_VERBOSE"))
        std::printf("%-28s %-7s kv %s t%d: worst %.2e at %d, ids checked %d\n", c.name().c_str(), set->name,
                    kv == KvType::F32 ? "f32" : "f16", threads, cmp.worst, cmp.worst_pos, cmp.checked_ids);
    }
  }
  std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Models, ReferenceFidelity, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name(); });

// RoPE far into long contexts: the engine's angles and rotation against the reference's, both
// pair layouts, with linear scaling and Llama 3 frequency factors.
TEST(ReferenceFidelity, RopeAtFarPositions) {
  const int64_t n_rot = 128;
  std::vector<float> factors(n_rot / 2);
  for (int64_t i = 0; i < n_rot / 2; ++i) factors[i] = 1.0f + static_cast<float>(i % 5);
  for (int64_t pos : {0L, 1L, 4095L, 4096L, 4100L, 32767L, 32768L, 32800L}) {
    for (bool neox : {false, true}) {
      for (const float* ff : {static_cast<const float*>(nullptr), static_cast<const float*>(factors.data())}) {
        for (float scale : {1.0f, 0.25f}) {
          std::vector<float> head(n_rot), cos_sin(n_rot);
          std::vector<double> want(n_rot);
          for (int64_t i = 0; i < n_rot; ++i) want[i] = head[i] = std::sin(0.37f * static_cast<float>(i) + 1.0f) * 3.0f;
          rope_angles(n_rot, pos, 500000.0f, scale, ff, cos_sin.data());
          rope_rotate(head.data(), n_rot, cos_sin.data(), neox ? RopeStyle::NeoX : RopeStyle::Adjacent);
          test::reference_rope(want.data(), n_rot, pos, 500000.0, scale, ff, neox);
          for (int64_t i = 0; i < n_rot; ++i)
            ASSERT_NEAR(head[i], want[i], 2e-5) << "pos " << pos << (neox ? " neox" : " adjacent") << " value " << i;
        }
      }
    }
  }
}
