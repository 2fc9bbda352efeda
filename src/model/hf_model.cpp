#include "model/hf_model.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/gguf.h"
#include "core/json_file.h"
#include "model/hf_tokenizer.h"
#include "model/safetensors.h"

namespace citadel {
namespace {

using nlohmann::json;


struct Config {
  const json& j;
  std::string path;
  bool has(const char* key) const { return j.contains(key) && !j[key].is_null(); }
  int64_t integer(const char* key) const {
    if (!has(key)) throw FormatError(path + ": '" + std::string(key) + "' is missing");
    if (!j[key].is_number_integer() || j[key].get<int64_t>() <= 0 || j[key].get<int64_t>() > (1ll << 31))
      throw FormatError(path + ": '" + std::string(key) + "' is not a positive integer");
    return j[key].get<int64_t>();
  }
  int64_t integer(const char* key, int64_t def) const { return has(key) ? integer(key) : def; }
  double number(const char* key, double def) const {
    if (!has(key)) return def;
    if (!j[key].is_number()) throw FormatError(path + ": '" + std::string(key) + "' is not a number");
    return j[key].get<double>();
  }
  bool boolean(const char* key, bool def) const {
    if (!has(key)) return def;
    if (!j[key].is_boolean()) throw FormatError(path + ": '" + std::string(key) + "' is not a boolean");
    return j[key].get<bool>();
  }
};

// model_type -> GGUF architecture.
std::string gguf_arch(const std::string& model_type) {
  if (model_type == "llama" || model_type == "mistral") return "llama";
  if (model_type == "qwen2" || model_type == "qwen3") return model_type;
  throw FormatError("Hugging Face model_type '" + model_type + "' is not supported (supported: llama, mistral, qwen2, qwen3)");
}

// HF suffix within model.layers.N. -> GGUF suffix within blk.N.
const std::pair<const char*, const char*> kLayerNames[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};

// GGUF name of an HF tensor; "" for tensors a GGUF does not carry; throws for unknown ones.
std::string gguf_name(const std::string& hf, int64_t n_layer, bool tied) {
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return tied ? "" : "output.weight";
  const std::string prefix = "model.layers.";
  if (hf.rfind(prefix, 0) == 0) {
    size_t end = 0;
    const std::string rest = hf.substr(prefix.size());
    int64_t il = -1;
    try {
      il = std::stoll(rest, &end);
    } catch (const std::exception&) {
    }
    if (il >= 0 && il < n_layer && end < rest.size() && rest[end] == '.') {
      const std::string suffix = rest.substr(end + 1);
      if (suffix == "self_attn.rotary_emb.inv_freq") return "";  // recomputed from rope_theta
      for (const auto& [from, to] : kLayerNames)
        if (suffix == from) return "blk." + std::to_string(il) + "." + to;
    }
  }
  throw FormatError("tensor '" + hf + "' has no GGUF equivalent (unknown name or layer)");
}

// llama.cpp's Llama 3 rope_freqs: per-frequency divisors of the rotation angle.
std::vector<float> llama3_rope_factors(const json& rs, double theta, int64_t head_dim) {
  const double factor = rs.value("factor", 8.0), low = rs.value("low_freq_factor", 1.0),
               high = rs.value("high_freq_factor", 4.0), old_ctx = rs.value("original_max_position_embeddings", 8192.0);
  const double low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
  std::vector<float> out;
  for (int64_t i = 0; i < head_dim; i += 2) {
    const double freq = 1.0 / std::pow(theta, static_cast<double>(static_cast<float>(i) / head_dim));
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) out.push_back(1.0f);
    else if (wavelen > low_wavelen) out.push_back(static_cast<float>(factor));
    else {
      const double smooth = (old_ctx / wavelen - low) / (high - low);
      out.push_back(static_cast<float>(1.0 / ((1 - smooth) / factor + smooth)));
    }
  }
  return out;
}

std::string base_name(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const size_t slash = dir.find_last_of('/');
  return slash == std::string::npos ? dir : dir.substr(slash + 1);
}

}  // namespace

bool is_hf_folder(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
  return ::stat((path + "/config.json").c_str(), &st) == 0;
}

std::unique_ptr<WeightSource> open_hf_folder(const std::string& dir) {
  const std::string config_path = dir + "/config.json";
  const json cj = read_json_file(config_path);
  if (!cj.is_object()) throw FormatError(config_path + ": not a JSON object");
  const Config c{cj, config_path};
  if (!cj.contains("model_type") || !cj["model_type"].is_string()) throw FormatError(config_path + ": no model_type");
  const std::string arch = gguf_arch(cj["model_type"].get<std::string>());
  const std::string a = arch + ".";

  auto src = std::make_unique<WeightSource>();
  src->description = dir;
  auto st = std::shared_ptr<SafetensorsModel>(SafetensorsModel::open_dir(dir));
  src->keep_alive.push_back(st);

  const int64_t n_embd = c.integer("hidden_size"), n_layer = c.integer("num_hidden_layers");
  const int64_t n_head = c.integer("num_attention_heads"), n_head_kv = c.integer("num_key_value_heads", n_head);
  const int64_t head_dim = c.integer("head_dim", n_embd / n_head);
  const double theta = c.number("rope_theta", 10000.0);
  const bool tied = c.boolean("tie_word_embeddings", !st->find("lm_head.weight"));
  src->n_layer = static_cast<int>(n_layer);

  GgufWriter& w = src->metadata;
  w.set_string("general.architecture", arch);
  w.set_string("general.name", base_name(dir));
  w.set_u32(a + "block_count", static_cast<uint32_t>(n_layer));
  w.set_u32(a + "context_length", static_cast<uint32_t>(c.integer("max_position_embeddings", 2048)));
  w.set_u32(a + "embedding_length", static_cast<uint32_t>(n_embd));
  w.set_u32(a + "feed_forward_length", static_cast<uint32_t>(c.integer("intermediate_size")));
  w.set_u32(a + "attention.head_count", static_cast<uint32_t>(n_head));
  w.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(n_head_kv));
  w.set_f32(a + "rope.freq_base", static_cast<float>(theta));
  w.set_f32(a + "attention.layer_norm_rms_epsilon", static_cast<float>(c.number("rms_norm_eps", 1e-6)));
  if (c.has("head_dim") && head_dim != n_embd / n_head) {
    w.set_u32(a + "attention.key_length", static_cast<uint32_t>(head_dim));
    w.set_u32(a + "attention.value_length", static_cast<uint32_t>(head_dim));
  }
  if (arch == "llama") w.set_u32(a + "rope.dimension_count", static_cast<uint32_t>(head_dim));

  std::vector<float> rope_factors;
  if (c.has("rope_scaling")) {
    const json& rs = cj["rope_scaling"];
    if (!rs.is_object()) throw FormatError(config_path + ": rope_scaling is not an object");
    const std::string type = rs.value("rope_type", rs.value("type", std::string()));
    if (type == "llama3") {
      rope_factors = llama3_rope_factors(rs, theta, head_dim);
    } else if (type == "linear") {
      w.set_string(a + "rope.scaling.type", "linear");
      w.set_f32(a + "rope.scaling.factor", static_cast<float>(rs.value("factor", 1.0)));
    } else if (type != "default") {
      throw FormatError(config_path + ": rope_scaling type '" + type + "' is not supported (llama3, linear)");
    }
  }

  const SafetensorsTensor* embd = st->find("model.embed_tokens.weight");
  if (!embd || embd->shape.size() != 2) throw FormatError(dir + ": model.embed_tokens.weight is missing or not a matrix");
  w.set_u32(a + "vocab_size", static_cast<uint32_t>(embd->shape[0]));
  if (!tied && !st->find("lm_head.weight"))
    throw FormatError(dir + ": lm_head.weight is missing and tie_word_embeddings is false");

  for (const SafetensorsTensor* t : st->tensors()) {
    const std::string name = gguf_name(t->name, n_layer, tied);
    if (name.empty()) continue;
    if (!t->computable)
      throw FormatError("tensor '" + t->name + "' has dtype " + t->dtype + " (only F32, F16 and BF16 are supported)");
    if (t->shape.empty() || t->shape.size() > 2)
      throw FormatError("tensor '" + t->name + "' has " + std::to_string(t->shape.size()) + " dimensions");
    SourceTensor s;
    s.name = name;
    s.ne.assign(t->shape.rbegin(), t->shape.rend());
    s.type = t->type;
    s.data = t->data;
    const bool is_q = name.find(".attn_q.") != std::string::npos, is_k = name.find(".attn_k.") != std::string::npos;
    if (arch == "llama" && (is_q || is_k)) {
      s.permute_heads = is_q ? n_head : n_head_kv;
      if (s.n_dims() == 1) {  // a bias: permute its values as rows of one value
        s.ne = {1, s.ne[0]};
        std::vector<uint8_t> bytes(s.rows() * s.row_size());
        for (int64_t r = 0; r < s.rows(); ++r) std::memcpy(&bytes[r * s.row_size()], s.row(r), s.row_size());
        s.data = src->own(std::move(bytes));
        s.ne = {s.ne[1]};
        s.permute_heads = 0;
      } else if (s.rows() % (2 * s.permute_heads) != 0) {
        throw FormatError("tensor '" + t->name + "' rows do not split into " + std::to_string(s.permute_heads) + " heads");
      }
    }
    src->tensors.push_back(std::move(s));
  }
  // GGUF order: the model-wide tensors, then the layers in number order.
  auto layer_of = [](const std::string& n) { return n.rfind("blk.", 0) == 0 ? std::stoi(n.substr(4)) : -1; };
  std::stable_sort(src->tensors.begin(), src->tensors.end(),
                   [&](const SourceTensor& x, const SourceTensor& y) { return layer_of(x.name) < layer_of(y.name); });
  if (!rope_factors.empty()) {
    SourceTensor s;
    s.name = "rope_freqs.weight";
    s.ne = {static_cast<int64_t>(rope_factors.size())};
    std::vector<uint8_t> bytes(rope_factors.size() * sizeof(float));
    std::memcpy(bytes.data(), rope_factors.data(), bytes.size());
    s.data = src->own(std::move(bytes));
    src->tensors.push_back(std::move(s));
  }
  add_hf_tokenizer_metadata(dir, w);
  return src;
}

}  // namespace citadel
