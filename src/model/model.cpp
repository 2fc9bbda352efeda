#include "model/model.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/gguf.h"
#include "core/kernels/kernels.h"
#include "core/repack.h"
#include "core/thread_pool.h"
#include "model/architecture.h"
#include "model/hf_model.h"

namespace citadel {

Model::~Model() = default;

std::unique_ptr<Model> Model::load(const std::string& path) {
  std::unique_ptr<Model> m(new Model());
  TensorMap tensors;
  if (is_hf_folder(path)) {
    ModelParts parts = to_model_parts(open_hf_folder(path));
    m->file_ = std::move(parts.metadata);
    m->storage_ = std::move(parts.storage);
    m->weight_bytes_ = parts.weight_bytes;
    tensors = std::move(parts.tensors);
  } else {
    m->file_ = GgufFile::open(path);
  }
  const GgufFile& f = *m->file_;
  m->hp_ = HParams::from_gguf(f);
  m->arch_ = find_architecture(m->hp_.arch);
  if (!m->arch_) {
    std::string names;
    for (const auto& n : supported_architectures()) names += (names.empty() ? "" : ", ") + n;
    throw FormatError("architecture '" + m->hp_.arch + "' is not supported (supported: " + names + ")");
  }
  for (const GgufTensorInfo& info : f.tensors()) {
    Tensor t;
    t.name = info.name;
    t.type = info.type;
    for (size_t d = 0; d < info.shape.size(); ++d) t.ne[d] = info.shape[d];
    t.data = info.data;
    tensors.add(t);
  }
  if (const GgufTensorInfo* emb = f.find_tensor("token_embd.weight")) {
    if (emb->shape.size() < 2) throw FormatError("token_embd.weight is not a matrix");
    if (m->hp_.n_vocab == 0) m->hp_.n_vocab = emb->shape[1];
  }
  if (m->hp_.n_vocab <= 0) throw FormatError("cannot tell the vocabulary size");
  m->arch_->bind(tensors, m->hp_, m->w_);
  m->repack_for_decode();
  return m;
}

// Decode of a Q4_0 row is compute-bound on its per-block scale arithmetic; with 8 rows
// interleaved one pass serves 8 rows. The copy replaces the file's pages (released after), so
// memory stays one copy. CITADEL_REPACK=0 keeps the file's layout (zero copy), e.g. to compare.
void Model::repack_for_decode() {
  if (const char* env = std::getenv("CITADEL_REPACK"); env && std::string(env) == "0") return;
  // Only where this CPU's kernel set has its own rows8 kernel (the portable one gains nothing).
  if (kernels::active().dot_q4_0_rows8 == kernels::scalar_set().dot_q4_0_rows8) return;
  std::unique_ptr<ThreadPool> pool;  // started for the first matrix to repack, if any
  auto repack = [&](Tensor& t) {
    if (!can_repack_rows8(t) || t.data == w_.tok_embd.data) return;  // a tied LM head stays shared
    if (!pool) pool = std::make_unique<ThreadPool>();
    repacked_.push_back(repack_rows8(t, *pool));
    file_->release_pages(t.data, repacked_.back().size());
    t.data = repacked_.back().data();
    t.rows8 = true;
  };
  for (LayerWeights& l : w_.layers)
    for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wqkv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down}) repack(*t);
  repack(w_.output);
}

size_t Model::weight_bytes() const {
  size_t n = weight_bytes_;
  for (const auto& t : file_->tensors()) n += t.nbytes;
  return n;
}

namespace {

// A longer batch runs as consecutive micro-batches of this many tokens (as llama.cpp's n_ubatch):
// a 2048-token prompt's activations are then a quarter of the size (the FFN's 46 MB each for
// llama-1b), so the element-wise steps between the matrix products (SwiGLU, quantization, norms,
// residual adds) work in cache. The weights are read once per 64 tokens either way
// (core/matmul.cpp). Measured: pp2048 of llama-1b Q4_0, 1 thread, 5 alternating runs each,
// median 148 -> 163 tok/s, best 156 -> 171.
constexpr int64_t kMicroBatch = 512;

}  // namespace

void Model::forward(const Batch& batch, KvCache& kv, ThreadPool& pool, float* logits, float* hidden) const {
  for (int64_t i = 0; i < batch.size(); ++i) {
    const bool embedded = i < static_cast<int64_t>(batch.embd.size()) && batch.embd[i];
    if (!embedded && (batch.tokens[i] < 0 || batch.tokens[i] >= hp_.n_vocab))
      throw std::out_of_range("token id " + std::to_string(batch.tokens[i]) + " outside the vocabulary of " +
                              std::to_string(hp_.n_vocab));
    if (batch.positions[i] < 0 || batch.positions[i] >= kv.capacity(batch.seq_ids[i]))
      throw std::out_of_range("position " + std::to_string(batch.positions[i]) + " has no KV cache room");
  }
  if (batch.size() <= kMicroBatch) {
    arch_->forward(*this, batch, kv, pool, logits, hidden);
    return;
  }
  Batch part;
  int64_t outputs = 0;
  for (int64_t s = 0; s < batch.size(); s += kMicroBatch) {
    part.clear();
    for (int64_t i = s; i < std::min(batch.size(), s + kMicroBatch); ++i)
      part.add(batch.tokens[i], batch.positions[i], batch.seq_ids[i], batch.want_logits[i] != 0, batch.lora[i],
               i < static_cast<int64_t>(batch.embd.size()) ? batch.embd[i] : nullptr);
    arch_->forward(*this, part, kv, pool, logits ? logits + outputs * hp_.n_vocab : nullptr,
                   hidden ? hidden + s * hp_.n_embd : nullptr);
    outputs += part.n_outputs();
  }
}

}  // namespace citadel
