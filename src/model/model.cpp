#include "model/model.h"

#include "core/gguf.h"
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
  return m;
}

size_t Model::weight_bytes() const {
  size_t n = weight_bytes_;
  for (const auto& t : file_->tensors()) n += t.nbytes;
  return n;
}

void Model::forward(const Batch& batch, KvCache& kv, ThreadPool& pool, float* logits, float* hidden) const {
  for (int64_t i = 0; i < batch.size(); ++i) {
    if (batch.tokens[i] < 0 || batch.tokens[i] >= hp_.n_vocab)
      throw std::out_of_range("token id " + std::to_string(batch.tokens[i]) + " outside the vocabulary of " +
                              std::to_string(hp_.n_vocab));
    if (batch.positions[i] < 0 || batch.positions[i] >= kv.capacity(batch.seq_ids[i]))
      throw std::out_of_range("position " + std::to_string(batch.positions[i]) + " has no KV cache room");
  }
  arch_->forward(*this, batch, kv, pool, logits, hidden);
}

}  // namespace citadel
