// The training forward against the inference forward, and the gradients of whole small models
// against finite differences of their loss: LoRA (adapter matrices) and full (every weight:
// embeddings, norms, projections, biases, QK norms, LM head), on random-weight models of each
// trainable architecture and on the bundled stories260K.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "model/lora_adapter.h"
#include "model/model.h"
#include "model/quant_mix.h"
#include "model/synthetic_model.h"
#include "test_paths.h"
#include "train/trainable_model.h"

using namespace citadel;

namespace {

std::string temp_model(const std::string& shape, const std::string& type = "f32") {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string test = std::string(info->test_suite_name()) + "." + info->name();
  std::replace(test.begin(), test.end(), '/', '_');
  const std::string path = ::testing::TempDir() + "/citadel-train-" + shape + "-" + type + "-" + test + ".gguf";
  ThreadPool pool(2);
  SynthOptions o;
  o.type = parse_file_type(type);
  write_synthetic_model(*find_model_shape(shape), o, path, pool);
  return path;
}

std::string stories_path() { return test::models_dir() + "/stories260K/stories260K-f32.gguf"; }

// An adapter of rank r on every projection with small random A and B (B is not zero, so every
// path carries gradient).
std::shared_ptr<LoraAdapter> random_adapter(const Model& m, int rank, uint32_t seed, float alpha = 8, float std = 0.1f) {
  auto a = std::make_shared<LoraAdapter>();
  a->arch = m.hparams().arch;
  a->alpha = alpha;
  a->layers.resize(m.hparams().n_layer);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, std);
  for (size_t il = 0; il < a->layers.size(); ++il)
    for (int t = 0; t < kLoraTargetCount; ++t) {
      const Tensor& w = lora_base_weight(m.weights().layers[il], static_cast<LoraTarget>(t));
      LoraPair& p = a->layers[il][t];
      p.rank = rank, p.in = w.cols(), p.out = w.rows();
      p.a.resize(rank * p.in), p.b.resize(p.out * rank);
      for (float& v : p.a) v = dist(rng);
      for (float& v : p.b) v = dist(rng);
    }
  return a;
}

// Two sequences of random tokens predicting their next tokens, a few rows unscored.
TrainBatch random_batch(int64_t vocab, uint32_t seed, int top_k = 0) {
  std::mt19937 rng(seed);
  TrainBatch b;
  b.top_k = top_k;
  for (int len : {9, 6}) {
    std::vector<int32_t> toks(len), tg(len);
    for (auto& t : toks) t = static_cast<int32_t>(rng() % vocab);
    for (int i = 0; i < len; ++i) tg[i] = i + 1 < len && i % 4 != 1 ? toks[i + 1] : -1;
    std::vector<int32_t> ids(len * top_k);
    std::vector<float> probs(len * top_k);
    for (int i = 0; i < len; ++i) {
      float sum = 0;
      for (int j = 0; j < top_k; ++j) {
        ids[i * top_k + j] = static_cast<int32_t>((tg[i] >= 0 ? tg[i] : 0) + 7 * j) % vocab;
        sum += probs[i * top_k + j] = 1.0f / (j + 1);
      }
      for (int j = 0; j < top_k; ++j) probs[i * top_k + j] /= sum;
    }
    b.add(toks, tg, ids.data(), probs.data());
  }
  return b;
}

// Logits of every row from Model::forward, one sequence at a time through a KV cache.
std::vector<float> inference_logits(const Model& m, const TrainBatch& b, const LoraStack* lora) {
  ThreadPool pool(2);
  const int64_t vocab = m.hparams().n_vocab;
  std::vector<float> out(b.rows() * vocab);
  KvCache kv(m.hparams(), KvCache::blocks_for(64, 2));
  const auto pos = b.positions();
  for (size_t s = 0; s < b.starts.size(); ++s) {
    const int64_t end = s + 1 < b.starts.size() ? b.starts[s + 1] : b.rows();
    const int32_t seq = kv.add_sequence();
    kv.reserve(seq, end - b.starts[s]);
    Batch batch;
    for (int64_t t = b.starts[s]; t < end; ++t) batch.add(b.tokens[t], pos[t], seq, true, lora);
    m.forward(batch, kv, pool, out.data() + b.starts[s] * vocab);
  }
  return out;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, static_cast<double>(std::abs(a[i] - b[i])));
  return d;
}

// Checks the largest and some random entries of every parameter against central differences
// of the mean loss. Returns the worst error.
double check_gradients(TrainableModel& tm, const TrainBatch& b, const LossWeights& w, int per_param, double tol) {
  ThreadPool pool(2);
  const double scored = static_cast<double>(b.scored());
  tm.zero_grad();
  tm.train_step(b, w, static_cast<float>(1.0 / scored));
  auto loss = [&] { return tm.evaluate(b, w).total(w) / scored; };
  std::mt19937 rng(7);
  double worst = 0;
  for (Param& p : tm.params()) {
    std::vector<int64_t> idx(p.size);
    for (int64_t i = 0; i < p.size; ++i) idx[i] = i;
    std::partial_sort(idx.begin(), idx.begin() + std::min<int64_t>(per_param, p.size), idx.end(),
                      [&](int64_t x, int64_t y) { return std::abs(p.grad[x]) > std::abs(p.grad[y]); });
    idx.resize(std::min<int64_t>(per_param, p.size));
    for (int i = 0; i < per_param; ++i) idx.push_back(static_cast<int64_t>(rng() % p.size));
    for (int64_t i : idx) {
      // The loss is computed in float (noise about 1e-6), and is close to linear in any one
      // parameter: a large step keeps the noise small against the difference.
      const float keep = p.value[i], h = 5e-2f;
      p.value[i] = keep + h;
      const double up = loss();
      p.value[i] = keep - h;
      const double down = loss();
      p.value[i] = keep;
      const double fd = (up - down) / (2 * h), a = p.grad[i];
      // Relative for the large entries, absolute (below tol * 5e-4) for the tiny ones.
      const double err = std::abs(fd - a) / (std::max(std::abs(fd), std::abs(a)) + 5e-4);
      worst = std::max(worst, err);
      EXPECT_LT(err, tol) << p.name << "[" << i << "]: analytic " << a << ", finite differences " << fd;
    }
  }
  return worst;
}

class TrainArch : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(TrainArch, ForwardMatchesInferenceWithAndWithoutAdapter) {
  auto model = Model::load(temp_model(GetParam()));
  ThreadPool pool(2);
  const TrainBatch b = random_batch(model->hparams().n_vocab, 1);
  auto adapter = random_adapter(*model, 4, 2);
  auto tm = TrainableModel::lora(*model, adapter, pool);
  const std::vector<float> with = tm->logits(b);
  LoraStack stack{{{adapter, 1.0f}}};
  EXPECT_LT(max_abs_diff(with, inference_logits(*model, b, &stack)), 2e-4);
  const std::vector<float> base = inference_logits(*model, b, nullptr);
  EXPECT_GT(max_abs_diff(with, base), 1e-2) << "the adapter changes the logits";
  auto plain = TrainableModel::full(*model, pool);
  EXPECT_LT(max_abs_diff(plain->logits(b), base), 2e-4);
}

TEST_P(TrainArch, LoraGradientsMatchFiniteDifferences) {
  auto model = Model::load(temp_model(GetParam()));
  ThreadPool pool(2);
  auto tm = TrainableModel::lora(*model, random_adapter(*model, 3, 3, 4, 0.03f), pool);
  const double worst = check_gradients(*tm, random_batch(model->hparams().n_vocab, 4), LossWeights{}, 2, 2e-2);
  RecordProperty("worst_relative_error", std::to_string(worst));
}

TEST_P(TrainArch, FullGradientsWithDistillationLossMatchFiniteDifferences) {
  auto model = Model::load(temp_model(GetParam()));
  ThreadPool pool(2);
  auto tm = TrainableModel::full(*model, pool);
  const double worst =
      check_gradients(*tm, random_batch(model->hparams().n_vocab, 5, 4), LossWeights{0.5f, 0.5f}, 2, 2e-2);
  RecordProperty("worst_relative_error", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(Shapes, TrainArch, ::testing::Values("llama-tiny", "qwen2-tiny", "qwen3-tiny"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(TrainStories, LoraGradientsOfTheBundledModel) {
  REQUIRE_FILE(stories_path());
  auto model = Model::load(stories_path());
  ThreadPool pool(2);
  auto tm = TrainableModel::lora(*model, random_adapter(*model, 4, 6, 4, 0.03f), pool);
  check_gradients(*tm, random_batch(model->hparams().n_vocab, 8), LossWeights{}, 1, 2e-2);
}

TEST(TrainQuantized, GradientsThroughAQuantizedBaseFollowTheFloatOnes) {
  // QLoRA: the same random model as f32 and as q8_0; the adapter's gradients through the
  // quantized weights point where the exact ones do.
  auto f32 = Model::load(temp_model("llama-tiny", "f32"));
  auto q8 = Model::load(temp_model("llama-tiny", "q8_0"));
  ThreadPool pool(2);
  auto adapter = random_adapter(*f32, 4, 9);
  auto a = TrainableModel::lora(*f32, std::make_shared<LoraAdapter>(*adapter), pool);
  auto b = TrainableModel::lora(*q8, std::make_shared<LoraAdapter>(*adapter), pool);
  const TrainBatch batch = random_batch(f32->hparams().n_vocab, 10);
  a->train_step(batch, LossWeights{}, 1.0f);
  b->train_step(batch, LossWeights{}, 1.0f);
  double dot = 0, na = 0, nb = 0;
  for (size_t k = 0; k < a->params().size(); ++k)
    for (int64_t i = 0; i < a->params()[k].size; ++i) {
      const double x = a->params()[k].grad[i], y = b->params()[k].grad[i];
      dot += x * y, na += x * x, nb += y * y;
    }
  const double cosine = dot / std::sqrt(na * nb);
  RecordProperty("cosine", std::to_string(cosine));
  EXPECT_GT(cosine, 0.99);
  EXPECT_GT(b->extra_bytes(), 0u) << "the quantized matrices got transposed copies for the backward";
}

TEST(TrainModes, RefusesOtherArchitecturesAndMisfitAdapters) {
  ThreadPool pool(1);
  auto falcon = Model::load(temp_model("falcon-tiny"));
  EXPECT_THROW(TrainableModel::full(*falcon, pool), std::invalid_argument);
  auto llama = Model::load(temp_model("llama-tiny"));
  auto qwen = Model::load(temp_model("qwen3-tiny"));
  EXPECT_THROW(TrainableModel::lora(*llama, random_adapter(*qwen, 2, 1), pool), std::invalid_argument);
}
