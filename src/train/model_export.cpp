#include "train/model_export.h"

#include <cstring>
#include <map>
#include <stdexcept>

#include "core/gemm_f32.h"
#include "model/model.h"
#include "model/weight_source.h"
#include "train/trainable_model.h"

namespace citadel {
namespace {

// Replaces a source tensor's values with `values` (rows of floats).
void replace(WeightSource& src, SourceTensor& t, const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  t.type = TensorType::F32;
  t.data = src.own(std::move(bytes));
}

}  // namespace

FileType default_merge_type(const Model& base) {
  const TensorType t = base.weights().layers.empty() ? TensorType::F32 : base.weights().layers[0].wq.type;
  if (t == TensorType::F32) return parse_file_type("f32");
  if (t == TensorType::BF16) return parse_file_type("bf16");
  return parse_file_type("f16");
}

size_t merge_lora(const std::string& base_path, const Model& base, const LoraStack& stack, const std::string& out,
                  const FileType& type, ThreadPool& pool) {
  if (stack.empty()) throw std::invalid_argument("no adapter to merge");
  for (const LoraRef& r : stack.refs) r.adapter->check_fits(base);
  auto src = open_gguf_source(base_path);
  std::map<std::string, SourceTensor*> by_name;
  for (SourceTensor& t : src->tensors) by_name[t.name] = &t;
  for (int il = 0; il < base.hparams().n_layer; ++il)
    for (int ti = 0; ti < kLoraTargetCount; ++ti) {
      const auto target = static_cast<LoraTarget>(ti);
      std::vector<float> delta;
      for (const LoraRef& r : stack.refs) {
        const LoraPair* p = r.adapter->get(il, target);
        if (!p) continue;
        if (delta.empty()) delta.assign(static_cast<size_t>(p->out * p->in), 0.0f);
        // delta += s B A, with s folded into a copy of B.
        std::vector<float> b(p->b);
        const float s = r.scale * r.adapter->scale(*p);
        for (float& v : b) v *= s;
        gemm_ab_acc(b.data(), p->a.data(), delta.data(), p->out, p->in, p->rank, pool);
      }
      if (delta.empty()) continue;
      const std::string name = "blk." + std::to_string(il) + "." + lora_target_name(target) + ".weight";
      auto it = by_name.find(name);
      if (it == by_name.end()) throw std::runtime_error("'" + base_path + "' has no tensor '" + name + "'");
      SourceTensor& t = *it->second;
      const int64_t cols = t.cols();
      std::vector<float> row(static_cast<size_t>(cols));
      for (int64_t r = 0; r < t.rows(); ++r) {
        t.row_f32(r, row.data());
        for (int64_t c = 0; c < cols; ++c) delta[r * cols + c] += row[c];
      }
      replace(*src, t, delta);
    }
  return write_gguf(*src, type, out, pool);
}

size_t write_trained_model(const std::string& base_path, const TrainableModel& model, const std::string& out,
                           const FileType& type, ThreadPool& pool) {
  if (!model.is_full()) throw std::invalid_argument("the model was trained with LoRA: write its adapter instead");
  auto src = open_gguf_source(base_path);
  std::map<std::string, SourceTensor*> by_name;
  for (SourceTensor& t : src->tensors) by_name[t.name] = &t;
  const Weights& w = model.weights();
  auto put = [&](const Tensor& t) {
    if (!t.present()) return;
    auto it = by_name.find(t.name);
    if (it == by_name.end()) throw std::runtime_error("'" + base_path + "' has no tensor '" + t.name + "'");
    const float* v = t.f32();
    replace(*src, *it->second, std::vector<float>(v, v + t.rows() * t.cols()));
  };
  put(w.tok_embd);
  put(w.output_norm);
  if (w.output.data != w.tok_embd.data) put(w.output);
  for (const LayerWeights& l : w.layers)
    for (const Tensor* t : {&l.attn_norm, &l.ffn_norm, &l.q_norm, &l.k_norm, &l.bq, &l.bk, &l.bv, &l.bo, &l.wq, &l.wk,
                            &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
      put(*t);
  return write_gguf(*src, type, out, pool);
}

}  // namespace citadel
