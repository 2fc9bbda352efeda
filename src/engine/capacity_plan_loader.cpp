#include "engine/capacity_plan_loader.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/gguf.h"
#include "model/safetensors.h"

namespace citadel {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// An integer metadata value that some files store per layer as an array: the largest entry.
int64_t gguf_int(const GgufFile& f, const std::string& key, int64_t def) {
  const GgufValue* v = f.find(key);
  if (!v) return def;
  if (v->is_array()) {
    const auto& ints = v->as_ints();
    return ints.empty() ? def : *std::max_element(ints.begin(), ints.end());
  }
  return v->as_int();
}

// The dominant matrix type by bytes, marked "mixed" when matrices use several types.
std::string dominant_type(const std::map<std::string, uint64_t>& bytes_by_type) {
  std::string best;
  uint64_t most = 0;
  for (const auto& [name, bytes] : bytes_by_type)
    if (bytes > most) most = bytes, best = name;
  return bytes_by_type.size() > 1 ? best + " mixed" : best;
}

void finish_from_tensors(ModelShape& s) {
  bool gate = false, output = false, qkv = false;
  for (const auto& t : s.tensors) {
    gate |= t.role == WeightRole::FfnGate;
    output |= t.role == WeightRole::Output;
    qkv |= t.role == WeightRole::AttnQkv;
  }
  s.gated_ffn = gate;
  s.tied_embeddings = !output;
  s.fused_qkv = qkv;
}

std::string arch_of_model_type(const std::string& t) {
  if (t == "RefinedWeb" || t == "RefinedWebModel" || t == "falcon") return "falcon";
  if (t == "mistral" || t == "llama") return "llama";
  return t;
}

int64_t first_int(const json& j, std::initializer_list<const char*> keys, int64_t def) {
  for (const char* k : keys)
    if (j.contains(k) && j[k].is_number_integer()) return j[k].get<int64_t>();
  return def;
}

// Tensors of the folder's safetensors (model/safetensors.h: shards, index file, bounds checks);
// only the headers are parsed, the tensor bytes stay unread in the mapping.
void read_safetensors(const fs::path& dir, ModelShape& s) {
  bool any = false;
  for (const auto& entry : fs::directory_iterator(dir)) any |= entry.path().extension() == ".safetensors";
  if (!any) return;
  const auto model = SafetensorsModel::open_dir(dir.string());
  std::map<std::string, uint64_t> bytes_by_type;
  for (const auto& f : model->files()) s.file_bytes += fs::file_size(f->path());
  for (const SafetensorsTensor* st : model->tensors()) {
    WeightTensor t = classify_tensor(st->name, st->shape);
    t.stored_bytes = st->nbytes;
    std::string dtype = st->dtype;
    std::transform(dtype.begin(), dtype.end(), dtype.begin(), [](unsigned char c) { return std::tolower(c); });
    if (t.role != WeightRole::Vector) bytes_by_type[dtype] += t.stored_bytes;
    s.tensors.push_back(t);
  }
  if (!s.tensors.empty()) s.stored_type = dominant_type(bytes_by_type);
}

}  // namespace

ModelShape model_shape_from_gguf(const std::string& path) {
  auto f = GgufFile::open(path);
  ModelShape s;
  s.source = "gguf";
  s.name = f->get_string("general.name", fs::path(path).stem().string());
  s.architecture = f->require_string("general.architecture");
  const std::string a = s.architecture + ".";
  s.n_layers = f->require_int(a + "block_count");
  s.d_model = f->require_int(a + "embedding_length");
  s.n_heads = gguf_int(*f, a + "attention.head_count", 0);
  s.n_kv_heads = gguf_int(*f, a + "attention.head_count_kv", s.n_heads);
  s.head_dim = f->get_int(a + "attention.key_length", s.n_heads ? s.d_model / s.n_heads : 0);
  s.ffn_dim = gguf_int(*f, a + "feed_forward_length", 0);
  s.context_length = f->get_int(a + "context_length", 2048);
  s.vocab = f->get_int(a + "vocab_size", 0);
  if (!s.vocab)
    if (const GgufValue* tokens = f->find("tokenizer.ggml.tokens")) s.vocab = static_cast<int64_t>(tokens->array_size());
  s.file_bytes = f->file_size();

  std::map<std::string, uint64_t> bytes_by_type;
  for (const auto& ti : f->tensors()) {
    WeightTensor t = classify_tensor(ti.name, ti.shape);
    t.stored_bytes = ti.nbytes;
    if (t.role == WeightRole::TokenEmbedding && !s.vocab && ti.shape.size() == 2) s.vocab = ti.shape[1];
    if (t.role != WeightRole::Vector) bytes_by_type[type_name(ti.type)] += ti.nbytes;
    s.tensors.push_back(t);
  }
  s.stored_type = dominant_type(bytes_by_type);
  finish_from_tensors(s);
  s.qkv_bias = s.architecture == "qwen" || s.architecture == "qwen2";
  validate_shape(s);
  return s;
}

ModelShape model_shape_from_hf(const std::string& path) {
  fs::path dir = fs::is_directory(path) ? fs::path(path) : fs::path(path).parent_path();
  fs::path config = fs::is_directory(path) ? dir / "config.json" : fs::path(path);
  std::ifstream in(config);
  if (!in) throw std::runtime_error("cannot read " + config.string());
  const json j = json::parse(in, nullptr, false);
  if (!j.is_object()) throw std::runtime_error(config.string() + ": not a JSON object");

  ModelShape s;
  s.source = "config.json";
  s.name = fs::is_directory(path) ? fs::path(path).filename().string() : dir.filename().string();
  if (s.name.empty()) s.name = "model";
  s.architecture = arch_of_model_type(j.value("model_type", std::string("llama")));
  const bool falcon = s.architecture == "falcon";
  s.n_layers = first_int(j, {"num_hidden_layers", "n_layer", "num_layers"}, 0);
  s.d_model = first_int(j, {"hidden_size", "n_embd", "d_model"}, 0);
  s.n_heads = first_int(j, {"num_attention_heads", "n_head"}, 0);
  int64_t kv_default = s.n_heads;
  // Old Falcon-7B configs say multi_query instead of giving a KV head count.
  if (falcon && j.value("multi_query", false) && !j.value("new_decoder_architecture", false)) kv_default = 1;
  s.n_kv_heads = first_int(j, {"num_key_value_heads", "num_kv_heads", "n_head_kv"}, kv_default);
  s.head_dim = first_int(j, {"head_dim", "kv_channels"}, s.n_heads ? s.d_model / s.n_heads : 0);
  s.ffn_dim = first_int(j, {"intermediate_size", "ffn_hidden_size", "n_inner"}, falcon ? 4 * s.d_model : 0);
  if (s.architecture == "qwen") s.ffn_dim /= 2;  // Qwen v1 counts both MLP branches
  s.vocab = first_int(j, {"vocab_size", "padded_vocab_size"}, 0);
  s.context_length = first_int(j, {"max_position_embeddings", "seq_length", "n_positions", "max_sequence_length"}, 2048);
  s.tied_embeddings = j.contains("tie_word_embeddings") ? j.value("tie_word_embeddings", false) : falcon;
  s.gated_ffn = !falcon;
  s.fused_qkv = falcon;
  s.qkv_bias = s.architecture == "qwen" || s.architecture == "qwen2";
  s.stored_type = j.value("torch_dtype", std::string());
  if (s.stored_type == "float16") s.stored_type = "f16";
  if (s.stored_type == "bfloat16") s.stored_type = "bf16";
  if (s.stored_type == "float32") s.stored_type = "f32";

  read_safetensors(dir, s);
  if (!s.tensors.empty()) finish_from_tensors(s);
  try {
    validate_shape(s);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(config.string() + ": " + e.what());
  }
  return s;
}

ModelShape load_model_shape(const std::string& path) {
  if (!fs::exists(path)) throw std::runtime_error("no such file or folder: " + path);
  if (fs::is_directory(path) || fs::path(path).extension() == ".json") return model_shape_from_hf(path);
  return model_shape_from_gguf(path);
}

}  // namespace citadel
