#include "train/teacher.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace citadel {
namespace {

constexpr char kMagic[8] = {'C', 'T', 'D', 'T', 'O', 'P', 'K', '1'};

// Top-k of one logits row: ids by decreasing probability, probabilities renormalised over them.
void top_k_row(const float* z, int64_t vocab, int k, int32_t* ids, float* probs, std::vector<int32_t>& order) {
  order.resize(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) { return z[a] > z[b]; });
  const float max = z[order[0]];
  double sum = 0;
  for (int i = 0; i < k; ++i) sum += std::exp(static_cast<double>(z[order[i]] - max));
  for (int i = 0; i < k; ++i) {
    ids[i] = order[i];
    probs[i] = static_cast<float>(std::exp(static_cast<double>(z[order[i]] - max)) / sum);
  }
}

template <typename T>
void put(std::ofstream& out, const T* data, size_t n) {
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * sizeof(T)));
}

template <typename T>
void get(std::ifstream& in, T* data, size_t n, const std::string& path) {
  in.read(reinterpret_cast<char*>(data), static_cast<std::streamsize>(n * sizeof(T)));
  if (!in) throw std::runtime_error("teacher file '" + path + "' is truncated");
}

}  // namespace

void compute_teacher_topk(const Model& teacher, std::vector<TrainExample>& examples, int k, ThreadPool& pool,
                          const std::function<void(size_t, size_t)>& progress) {
  const HParams& hp = teacher.hparams();
  if (k < 1 || k > hp.n_vocab) throw std::invalid_argument("top-k must be between 1 and the vocabulary size");
  std::vector<float> logits;
  std::vector<int32_t> order;
  for (size_t e = 0; e < examples.size(); ++e) {
    TrainExample& ex = examples[e];
    const int64_t n = static_cast<int64_t>(ex.tokens.size());
    if (n > hp.n_ctx_train)
      throw std::invalid_argument("an example of " + std::to_string(n) + " tokens is longer than the teacher's context of " +
                                  std::to_string(hp.n_ctx_train) + " (lower --context)");
    KvCache kv(hp, KvCache::blocks_for(n, 1));
    const int32_t seq = kv.add_sequence();
    kv.reserve(seq, n);
    Batch batch;
    std::vector<int64_t> rows;
    for (int64_t t = 0; t < n; ++t) {
      const bool want = t + 1 < n && ex.learnt[t + 1];
      batch.add(ex.tokens[t], static_cast<int32_t>(t), seq, want);
      if (want) rows.push_back(t);
    }
    logits.resize(std::max<size_t>(1, rows.size()) * static_cast<size_t>(hp.n_vocab));
    teacher.forward(batch, kv, pool, logits.data());
    ex.top_k = k;
    ex.teacher_ids.assign(static_cast<size_t>(n * k), 0);
    ex.teacher_probs.assign(static_cast<size_t>(n * k), 0.0f);
    for (size_t r = 0; r < rows.size(); ++r)
      top_k_row(logits.data() + r * hp.n_vocab, hp.n_vocab, k, ex.teacher_ids.data() + rows[r] * k,
                ex.teacher_probs.data() + rows[r] * k, order);
    if (progress) progress(e + 1, examples.size());
  }
}

uint64_t vocabulary_fingerprint(const Tokenizer& tok) {
  uint64_t h = 1469598103934665603ull ^ static_cast<uint64_t>(tok.n_vocab());
  for (int32_t i = 0; i < tok.n_vocab(); ++i) {
    for (unsigned char c : tok.token_text(i)) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  }
  return h;
}

void write_teacher_file(const std::string& path, const std::vector<TrainExample>& examples, uint64_t vocabulary) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write '" + tmp + "'");
    const uint64_t header[2] = {vocabulary, examples.size()};
    put(out, kMagic, sizeof kMagic);
    put(out, header, 2);
    for (const TrainExample& e : examples) {
      const uint64_t meta[3] = {e.line, e.tokens.size(), static_cast<uint64_t>(e.top_k)};
      put(out, meta, 3);
      put(out, e.tokens.data(), e.tokens.size());
      put(out, e.learnt.data(), e.learnt.size());
      put(out, e.teacher_ids.data(), e.teacher_ids.size());
      put(out, e.teacher_probs.data(), e.teacher_probs.size());
    }
    if (!out.flush()) throw std::runtime_error("cannot write '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename '" + tmp + "' to '" + path + "'");
}

std::vector<TrainExample> read_teacher_file(const std::string& path, uint64_t vocabulary) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open teacher file '" + path + "'");
  char magic[sizeof kMagic];
  in.read(magic, sizeof magic);
  if (!in || std::memcmp(magic, kMagic, sizeof magic) != 0)
    throw std::runtime_error("'" + path + "' is not a teacher file of `citadel distill --teacher-logits`");
  uint64_t header[2];
  get(in, header, 2, path);
  if (header[0] != vocabulary)
    throw std::runtime_error("teacher file '" + path + "' was made with another vocabulary than the student's");
  std::vector<TrainExample> out;
  for (uint64_t i = 0; i < header[1]; ++i) {
    uint64_t meta[3];
    get(in, meta, 3, path);
    if (meta[1] > (1u << 24) || meta[2] > (1u << 16)) throw std::runtime_error("teacher file '" + path + "' is corrupt");
    TrainExample e;
    e.line = meta[0];
    e.top_k = static_cast<int>(meta[2]);
    e.tokens.resize(meta[1]);
    e.learnt.resize(meta[1]);
    e.teacher_ids.resize(meta[1] * meta[2]);
    e.teacher_probs.resize(meta[1] * meta[2]);
    get(in, e.tokens.data(), e.tokens.size(), path);
    get(in, e.learnt.data(), e.learnt.size(), path);
    get(in, e.teacher_ids.data(), e.teacher_ids.size(), path);
    get(in, e.teacher_probs.data(), e.teacher_probs.size(), path);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace citadel
