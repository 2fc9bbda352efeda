// Test helper: writes a Hugging Face folder (config.json, safetensors shards + index,
// tokenizer.model) holding the same model as a GGUF file: tensor names mapped back, Llama Q/K rows
// put back in HF's rotary layout, shapes row-major. Used to check that a folder loads and converts
// to exactly the model it came from.
#pragma once
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/fp16.h"
#include "core/gguf.h"
#include "core/quant.h"
#include "model/safetensors_writer.h"

namespace citadel::test {

inline std::string hf_name(const std::string& gguf) {
  if (gguf == "token_embd.weight") return "model.embed_tokens.weight";
  if (gguf == "output_norm.weight") return "model.norm.weight";
  if (gguf == "output.weight") return "lm_head.weight";
  static const std::pair<const char*, const char*> names[] = {
      {"attn_norm.weight", "input_layernorm.weight"},    {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_output.weight", "self_attn.o_proj.weight"}, {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.bias", "self_attn.k_proj.bias"},          {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_q_norm.weight", "self_attn.q_norm.weight"}, {"attn_k_norm.weight", "self_attn.k_norm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"}, {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},           {"ffn_down.weight", "mlp.down_proj.weight"},
  };
  const size_t dot = gguf.find('.', 4);
  const std::string layer = gguf.substr(4, dot - 4), suffix = gguf.substr(dot + 1);
  for (const auto& [from, to] : names)
    if (suffix == from) return "model.layers." + layer + "." + to;
  return "";
}

inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

// A SentencePiece ModelProto with the vocabulary of a "llama" GGUF tokenizer.
inline std::string sentencepiece_model(const GgufFile& f) {
  const auto& tokens = f.find("tokenizer.ggml.tokens")->as_strings();
  const auto scores = f.find("tokenizer.ggml.scores")->as_floats();
  const auto& types = f.find("tokenizer.ggml.token_type")->as_ints();
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string piece;
    piece += static_cast<char>(0x0a);
    put_varint(piece, tokens[i].size());
    piece += tokens[i];
    piece += static_cast<char>(0x15);  // field 2, fixed32
    char b[4];
    std::memcpy(b, &scores[i], 4);
    piece.append(b, 4);
    piece += static_cast<char>(0x18);
    put_varint(piece, static_cast<uint64_t>(types[i]));
    out += static_cast<char>(0x0a);
    put_varint(out, piece.size());
    out += piece;
  }
  return out;
}

// dtype: "F32", "F16" or "BF16". Shards of at most `shard_bytes`.
inline void write_hf_folder(const std::string& gguf_path, const std::string& dir, const std::string& dtype,
                            size_t shard_bytes) {
  auto f = GgufFile::open(gguf_path);
  const std::string arch = f->require_string("general.architecture"), a = arch + ".";
  const int64_t n_embd = f->require_int(a + "embedding_length"), n_head = f->require_int(a + "attention.head_count");
  const int64_t n_head_kv = f->get_int(a + "attention.head_count_kv", n_head);
  nlohmann::json config = {
      {"model_type", arch},
      {"architectures", {arch == "llama" ? "LlamaForCausalLM" : arch == "qwen2" ? "Qwen2ForCausalLM" : "Qwen3ForCausalLM"}},
      {"hidden_size", n_embd},
      {"num_hidden_layers", f->require_int(a + "block_count")},
      {"num_attention_heads", n_head},
      {"num_key_value_heads", n_head_kv},
      {"intermediate_size", f->require_int(a + "feed_forward_length")},
      {"max_position_embeddings", f->get_int(a + "context_length", 2048)},
      {"rms_norm_eps", f->get_double(a + "attention.layer_norm_rms_epsilon", 1e-5)},
      {"rope_theta", f->get_double(a + "rope.freq_base", 10000.0)},
      {"tie_word_embeddings", f->find_tensor("output.weight") == nullptr},
      {"torch_dtype", dtype == "F32" ? "float32" : dtype == "F16" ? "float16" : "bfloat16"},
  };
  const int64_t head_dim = f->get_int(a + "attention.key_length", n_embd / n_head);
  if (f->has(a + "attention.key_length")) config["head_dim"] = head_dim;
  std::ofstream(dir + "/config.json") << config.dump(2);

  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  const TensorType out_type = dtype == "F32" ? TensorType::F32 : dtype == "F16" ? TensorType::F16 : TensorType::BF16;
  for (const GgufTensorInfo& t : f->tensors()) {
    const int64_t cols = t.shape[0], rows = t.n_elements() / cols;
    std::vector<float> values(t.n_elements());
    for (int64_t r = 0; r < rows; ++r)
      dequantize_row(t.type, static_cast<const uint8_t*>(t.data) + r * row_bytes(t.type, cols), &values[r * cols], cols);
    const bool is_q = t.name.find(".attn_q.weight") != std::string::npos, is_k = t.name.find(".attn_k.weight") != std::string::npos;
    if (arch == "llama" && (is_q || is_k)) {  // GGUF row h*hd + 2i + j -> HF row h*hd + j*hd/2 + i
      const int64_t hd = rows / (is_q ? n_head : n_head_kv);
      std::vector<float> hf(values.size());
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t h = r / hd, i = (r % hd) / 2, j = r % 2;
        std::memcpy(&hf[(h * hd + j * hd / 2 + i) * cols], &values[r * cols], cols * sizeof(float));
      }
      values.swap(hf);
    }
    std::vector<uint8_t> bytes(row_bytes(out_type, cols) * rows);
    // Norms stay F32 in some real checkpoints and not in others; F32 1-D here tests the mix.
    const TensorType type = t.shape.size() == 1 ? TensorType::F32 : out_type;
    bytes.resize(row_bytes(type, cols) * rows);
    for (int64_t r = 0; r < rows; ++r) quantize_row(type, &values[r * cols], &bytes[r * row_bytes(type, cols)], cols);
    std::vector<int64_t> shape(t.shape.rbegin(), t.shape.rend());
    w.add(hf_name(t.name), type == TensorType::F32 ? "F32" : dtype, shape, bytes.data(), bytes.size());
  }
  w.write_sharded(dir, shard_bytes);
  if (f->get_string("tokenizer.ggml.model") == "llama") {
    std::ofstream(dir + "/tokenizer.model", std::ios::binary) << sentencepiece_model(*f);
    std::ofstream(dir + "/tokenizer_config.json") << R"({"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": true})";
  }
}

}  // namespace citadel::test
