#include "model/lora_adapter.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/gguf.h"
#include "core/gguf_writer.h"
#include "core/quant.h"
#include "model/model.h"

namespace citadel {
namespace {

constexpr const char* kTargetNames[kLoraTargetCount] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                                        "ffn_gate", "ffn_up", "ffn_down"};

std::atomic<uint64_t> g_next_id{1};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "blk.<il>.<target>.weight" -> (il, target); false for any other name.
bool parse_base_name(const std::string& name, int& il, int& target) {
  if (name.rfind("blk.", 0) != 0 || !ends_with(name, ".weight")) return false;
  const size_t dot = name.find('.', 4);
  if (dot == std::string::npos || dot == 4) return false;
  char* end = nullptr;
  const long v = std::strtol(name.c_str() + 4, &end, 10);
  if (end != name.c_str() + dot || v < 0 || v > 1 << 20) return false;
  const std::string suffix = name.substr(dot + 1, name.size() - dot - 1 - 7);
  for (int t = 0; t < kLoraTargetCount; ++t)
    if (suffix == kTargetNames[t]) {
      il = static_cast<int>(v);
      target = t;
      return true;
    }
  return false;
}

std::string shape_str(int64_t a, int64_t b) { return "[" + std::to_string(a) + ", " + std::to_string(b) + "]"; }

std::vector<float> to_floats(const GgufTensorInfo& t, const std::string& where) {
  if (t.shape.size() != 2) throw FormatError(where + ": tensor '" + t.name + "' is not a matrix");
  if (!quant_supported(t.type)) throw FormatError(where + ": tensor '" + t.name + "' has unsupported type " + type_name(t.type));
  std::vector<float> out(static_cast<size_t>(t.shape[0] * t.shape[1]));
  const size_t rb = row_bytes(t.type, t.shape[0]);
  for (int64_t r = 0; r < t.shape[1]; ++r)
    dequantize_row(t.type, static_cast<const uint8_t*>(t.data) + r * rb, out.data() + r * t.shape[0], t.shape[0]);
  return out;
}

}  // namespace

const char* lora_target_name(LoraTarget t) { return kTargetNames[static_cast<int>(t)]; }

const Tensor& lora_base_weight(const LayerWeights& l, LoraTarget t) {
  switch (t) {
    case LoraTarget::Q: return l.wq;
    case LoraTarget::K: return l.wk;
    case LoraTarget::V: return l.wv;
    case LoraTarget::O: return l.wo;
    case LoraTarget::Gate: return l.ffn_gate;
    case LoraTarget::Up: return l.ffn_up;
    case LoraTarget::Down: return l.ffn_down;
  }
  return l.wq;
}

LoraAdapter::LoraAdapter() : id_(g_next_id.fetch_add(1)) {}

int64_t LoraAdapter::parameter_count() const {
  int64_t n = 0;
  for (const auto& layer : layers)
    for (const LoraPair& p : layer) n += p.rank * (p.in + p.out);
  return n;
}

void LoraAdapter::check_fits(const Model& base) const {
  const HParams& hp = base.hparams();
  if (arch != hp.arch)
    throw FormatError("the adapter is for architecture '" + arch + "', the base model is '" + hp.arch + "'");
  if (hp.arch != "llama" && hp.arch != "qwen2" && hp.arch != "qwen3")
    throw FormatError("LoRA adapters apply to llama, qwen2 and qwen3 models, not " + hp.arch);
  if (static_cast<int64_t>(layers.size()) != hp.n_layer)
    throw FormatError("the adapter has " + std::to_string(layers.size()) + " layers, the base model " +
                      std::to_string(hp.n_layer) + " (an adapter for another model?)");
  for (size_t il = 0; il < layers.size(); ++il)
    for (int t = 0; t < kLoraTargetCount; ++t) {
      const LoraPair& p = layers[il][t];
      if (!p.present()) continue;
      const std::string name = "blk." + std::to_string(il) + "." + kTargetNames[t] + ".weight";
      const Tensor& w = lora_base_weight(base.weights().layers[il], static_cast<LoraTarget>(t));
      if (!w.present())
        throw FormatError("the base model has no separate '" + name + "' (a fused QKV projection): LoRA adapters "
                          "apply to llama, qwen2 and qwen3 models");
      if (p.in != w.cols() || p.out != w.rows())
        throw FormatError("'" + name + "' is " + shape_str(w.cols(), w.rows()) + " in the base model, but the adapter's " +
                          "lora_a / lora_b make it " + shape_str(p.in, p.out) + " (an adapter for another model?)");
      if (static_cast<int64_t>(p.a.size()) != p.rank * p.in || static_cast<int64_t>(p.b.size()) != p.out * p.rank)
        throw FormatError("'" + name + "': the adapter's matrices do not hold rank x in and out x rank values");
    }
}

std::shared_ptr<LoraAdapter> LoraAdapter::load(const std::string& path, const Model& base) {
  const std::string where = "LoRA adapter '" + path + "'";
  std::unique_ptr<GgufFile> f = GgufFile::open(path);
  const std::string type = f->get_string("general.type", "");
  if (type != "adapter") throw FormatError(where + ": general.type is '" + type + "', not 'adapter'");
  const std::string adapter_type = f->get_string("adapter.type", "");
  if (adapter_type != "lora") throw FormatError(where + ": adapter.type is '" + adapter_type + "', not 'lora'");
  auto a = std::make_shared<LoraAdapter>();
  a->arch = f->get_string("general.architecture", "");
  a->alpha = static_cast<float>(f->get_double("adapter.lora.alpha", 0.0));
  if (a->arch != base.hparams().arch)
    throw FormatError(where + " is for architecture '" + a->arch + "', the base model is '" + base.hparams().arch + "'");
  a->layers.resize(static_cast<size_t>(base.hparams().n_layer));
  struct Halves {
    const GgufTensorInfo *a = nullptr, *b = nullptr;
  };
  std::vector<std::array<Halves, kLoraTargetCount>> found(a->layers.size());
  for (const GgufTensorInfo& t : f->tensors()) {
    const bool is_a = ends_with(t.name, ".lora_a"), is_b = ends_with(t.name, ".lora_b");
    if (!is_a && !is_b) {
      if (ends_with(t.name, "_norm.weight")) continue;  // llama.cpp ignores these too
      throw FormatError(where + ": tensor '" + t.name + "' is neither a .lora_a nor a .lora_b");
    }
    const std::string base_name = t.name.substr(0, t.name.size() - 7);
    int il = 0, target = 0;
    if (!parse_base_name(base_name, il, target))
      throw FormatError(where + ": tensor '" + t.name + "' adapts '" + base_name +
                        "'; Citadel applies LoRA to the attention and FFN projections (blk.N.attn_q/k/v/output, "
                        "ffn_gate/up/down)");
    if (il >= static_cast<int>(a->layers.size()))
      throw FormatError(where + ": tensor '" + t.name + "' is for layer " + std::to_string(il) + ", the base model has " +
                        std::to_string(a->layers.size()) + " layers (an adapter for another model?)");
    (is_a ? found[il][target].a : found[il][target].b) = &t;
  }
  for (size_t il = 0; il < found.size(); ++il)
    for (int t = 0; t < kLoraTargetCount; ++t) {
      const Halves& h = found[il][t];
      if (!h.a && !h.b) continue;
      const std::string name = "blk." + std::to_string(il) + "." + kTargetNames[t] + ".weight";
      if (!h.a || !h.b) throw FormatError(where + ": '" + name + "' has only one of lora_a / lora_b");
      if (h.a->shape.size() != 2 || h.b->shape.size() != 2 || h.a->shape[1] != h.b->shape[0])
        throw FormatError(where + ": '" + name + "': lora_a must be [in, rank] and lora_b [rank, out]");
      LoraPair& p = a->layers[il][t];
      p.rank = h.a->shape[1];
      p.in = h.a->shape[0];
      p.out = h.b->shape[1];
      p.a = to_floats(*h.a, where);
      p.b = to_floats(*h.b, where);
    }
  try {
    a->check_fits(base);
  } catch (const FormatError& e) {
    throw FormatError(where + ": " + e.what());
  }
  return a;
}

void LoraAdapter::write(const std::string& path, const std::string& name) const {
  GgufWriter w;
  w.set_string("general.architecture", arch);
  w.set_string("general.type", "adapter");
  if (!name.empty()) w.set_string("general.name", name);
  w.set_string("adapter.type", "lora");
  w.set_f32("adapter.lora.alpha", alpha);
  for (size_t il = 0; il < layers.size(); ++il)
    for (int t = 0; t < kLoraTargetCount; ++t) {
      const LoraPair& p = layers[il][t];
      if (!p.present()) continue;
      const std::string base = "blk." + std::to_string(il) + "." + kTargetNames[t] + ".weight";
      w.add_tensor(base + ".lora_a", {p.in, p.rank}, TensorType::F32, p.a.data(), p.a.size() * sizeof(float));
      w.add_tensor(base + ".lora_b", {p.rank, p.out}, TensorType::F32, p.b.data(), p.b.size() * sizeof(float));
    }
  w.write(path);
}

namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  h = (h ^ v) * 0x100000001b3ull;
  return h ^ (h >> 29);
}

uint64_t float_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

}  // namespace

void LoraStack::seal() {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const LoraRef& r : refs) {
    h = mix(mix(mix(h, float_bits(r.scale)), float_bits(r.adapter->alpha)), r.adapter->layers.size());
    for (const auto& layer : r.adapter->layers)
      for (const LoraPair& p : layer) {
        h = mix(mix(mix(h, static_cast<uint64_t>(p.rank)), static_cast<uint64_t>(p.in)), static_cast<uint64_t>(p.out));
        for (float v : p.a) h = mix(h, float_bits(v));
        for (float v : p.b) h = mix(h, float_bits(v));
      }
  }
  fingerprint = refs.empty() ? 0 : (h ? h : 1);
}

uint64_t LoraStack::cache_key() const {
  if (refs.empty()) return 0;
  if (fingerprint) return fingerprint;
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (const LoraRef& r : refs) h = mix(mix(h, r.adapter->id()), float_bits(r.scale));
  return h ? h : 1;
}

std::pair<std::string, float> parse_lora_arg(const std::string& arg) {
  const size_t colon = arg.rfind(':');
  if (colon != std::string::npos && colon + 1 < arg.size()) {
    const std::string tail = arg.substr(colon + 1);
    char* end = nullptr;
    const float scale = std::strtof(tail.c_str(), &end);
    if (end && *end == '\0') return {arg.substr(0, colon), scale};
  }
  if (arg.empty()) throw std::invalid_argument("--lora needs a file name");
  return {arg, 1.0f};
}

LoraStack load_lora_stack(const std::vector<std::string>& args, const Model& base) {
  LoraStack s;
  for (const std::string& arg : args) {
    auto [file, scale] = parse_lora_arg(arg);
    s.refs.push_back({LoraAdapter::load(file, base), scale});
  }
  s.seal();
  return s;
}

}  // namespace citadel
