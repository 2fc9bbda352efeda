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
  m->prepare_matrices();
  return m;
}

// Matrices re-laid or copied at load. Each copy replaces the file's pages (released after), so
// memory stays one copy; CITADEL_REPACK=0 keeps the file's mapping (zero copy), e.g. to compare or
// where memory is too tight for the model to be held in anonymous memory. A tied LM head stays
// shared with the embeddings, in the file.
// - Q4_0, where the kernel set has its own rows8 kernel: decode of a Q4_0 row is compute-bound on
//   its per-block scale arithmetic; with 8 rows interleaved one pass serves 8 rows.
// - Every other matrix is copied into huge pages. A prefill tile reads 16-64 rows at once, each
//   (2048 wide or more) in a 4 KB page of its own in the file's mapping, and a decode step touches
//   every page of the model: the TLB misses cost more than the reading (a walk through the guest's
//   and the host's tables on a VM). llama-1b, 1 thread, `citadel bench` alternating with
//   CITADEL_REPACK=0 (Zen 5 VM): F16 pp128 +30%, decode 3-5 -> 12-14 tok/s; BF16 pp128 +40%
//   (in one process); Q8_0 pp128 +20%, decode +35%; Q4_K_M pp128 +5%, decode even to +4%.
void Model::prepare_matrices() {
  if (const char* env = std::getenv("CITADEL_REPACK"); env && std::string(env) == "0") return;
  std::vector<Tensor*> matrices;
  for (LayerWeights& l : w_.layers)
    for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wqkv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down}) matrices.push_back(t);
  if (w_.output.data != w_.tok_embd.data) matrices.push_back(&w_.output);
  std::unique_ptr<ThreadPool> pool;  // started for the first matrix to copy, if any
  auto threads = [&]() -> ThreadPool& {
    if (!pool) pool = std::make_unique<ThreadPool>();
    return *pool;
  };
  const bool rows8 = kernels::active().dot_q4_0_rows8 != kernels::scalar_set().dot_q4_0_rows8;
  std::vector<Tensor*> to_copy;
  for (Tensor* t : matrices) {
    if (!rows8 || !can_repack_rows8(*t)) {
      // A folder's tensors stay where they are: some of them were converted into memory at load.
      if (!storage_ && wants_huge_page_copy(*t)) to_copy.push_back(t);
      continue;
    }
    repacked_.push_back(repack_rows8(*t, threads()));
    repacked_.back().seal();
    file_->release_pages(t->data, repacked_.back().size());
    t->data = repacked_.back().data();
    t->rows8 = true;
  }
  if (to_copy.empty()) return;
  std::vector<size_t> offsets;
  repacked_.push_back(copy_to_huge_pages({to_copy.begin(), to_copy.end()}, offsets, threads(), [&](size_t i) {
    file_->release_pages(to_copy[i]->data, to_copy[i]->rows() * to_copy[i]->row_size());
  }));
  repacked_.back().seal();
  for (size_t i = 0; i < to_copy.size(); ++i) to_copy[i]->data = repacked_.back().data() + offsets[i];
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
