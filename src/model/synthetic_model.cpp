#include "model/synthetic_model.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "core/gguf.h"
#include "core/gguf_writer.h"
#include "core/quant.h"
#include "model/spm_vocab.h"

namespace citadel {
namespace {

constexpr ModelShape kShapes[] = {
    // name, arch, embd, layers, heads, kv heads, head dim, ffn, vocab, ctx, tied, norm2
    {"llama-tiny", "llama", 128, 2, 4, 2, 0, 384, 512, 256, false, false},
    {"qwen2-tiny", "qwen2", 128, 2, 4, 2, 0, 384, 512, 256, true, false},
    {"qwen3-tiny", "qwen3", 128, 2, 4, 2, 64, 384, 512, 256, false, false},
    {"falcon-tiny", "falcon", 128, 2, 4, 1, 0, 512, 512, 256, true, false},
    {"falcon40-tiny", "falcon", 128, 2, 8, 2, 0, 512, 512, 256, false, true},
    {"llama-110m", "llama", 768, 12, 12, 12, 0, 2048, 32000, 1024, false, false},
    {"llama-1b", "llama", 2048, 16, 32, 8, 0, 8192, 32000, 2048, false, false},
    {"llama-7b", "llama", 4096, 32, 32, 32, 0, 11008, 32000, 4096, false, false},
    {"qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 0, 4864, 151936, 32768, true, false},
    {"falcon-7b", "falcon", 4544, 32, 71, 1, 0, 18176, 65024, 2048, false, false},
};

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t hash_name(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Uniform values in [center - half_width, center + half_width], one stream per (tensor, row).
void fill_row(uint64_t seed, const std::string& name, int64_t row, float center, float half_width, float* out,
              int64_t n) {
  uint64_t state = splitmix64(seed ^ hash_name(name) ^ splitmix64(static_cast<uint64_t>(row)));
  for (int64_t i = 0; i < n; ++i) {
    state = splitmix64(state);
    const float u = static_cast<float>(state >> 40) * (1.0f / 16777216.0f);  // [0, 1)
    out[i] = center + half_width * (2.0f * u - 1.0f);
  }
}

// Normal values N(0, std^2) by Box-Muller over the same per-(tensor, row) streams.
void fill_row_normal(uint64_t seed, const std::string& name, int64_t row, float std, float* out, int64_t n) {
  std::vector<float> u(n + 1);
  fill_row(seed, name, row, 0.5f, 0.5f, u.data(), n + 1);  // uniform in [0, 1)
  for (int64_t i = 0; i < n; i += 2) {
    const double r = std * std::sqrt(-2.0 * std::log(1.0 - u[i])), a = 2.0 * M_PI * u[i + 1];
    out[i] = static_cast<float>(r * std::cos(a));
    if (i + 1 < n) out[i + 1] = static_cast<float>(r * std::sin(a));
  }
}

// A SentencePiece-style vocabulary: <unk> <s> </s>, the 256 byte tokens, then made-up pieces.
SpmVocab synthetic_vocab(int64_t n_vocab) {
  SpmVocab v;
  auto add = [&](std::string t, float score, int32_t type) {
    v.tokens.push_back(std::move(t));
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0, 2);
  add("<s>", 0, 3);
  add("</s>", 0, 3);
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    add(buf, 0, 6);
  }
  const std::string letters = "etaoinshrdlucmfwypvbgkjqxz";
  for (int64_t i = 0; static_cast<int64_t>(v.tokens.size()) < n_vocab; ++i) {
    std::string piece;
    for (int64_t k = i; ; k = k / 26 - 1) {
      piece.insert(piece.begin(), letters[k % 26]);
      if (k < 26) break;
    }
    add("\xE2\x96\x81" + piece, -static_cast<float>(i), 1);  // "▁piece"
  }
  return v;
}

}  // namespace

const ModelShape* find_model_shape(const std::string& name) {
  for (const ModelShape& s : kShapes)
    if (name == s.name) return &s;
  return nullptr;
}

std::vector<std::string> model_shape_names() {
  std::vector<std::string> names;
  for (const ModelShape& s : kShapes) names.push_back(s.name);
  return names;
}

size_t write_synthetic_model(const ModelShape& shape, const SynthOptions& options, const std::string& path,
                             ThreadPool& pool) {
  const std::string a = std::string(shape.arch) + ".";
  const bool falcon = std::string(shape.arch) == "falcon";
  const int64_t head_dim = shape.head_dim ? shape.head_dim : shape.n_embd / shape.n_head;
  const int64_t d = shape.n_embd, q = shape.n_head * head_dim, kvd = shape.n_head_kv * head_dim, ff = shape.n_ff;

  GgufWriter w;
  w.set_string("general.architecture", shape.arch);
  w.set_string("general.name", std::string("synthetic ") + shape.name + " (random weights)");
  w.set_u32("general.file_type", static_cast<uint32_t>(gguf_file_type_id(options.type)));
  w.set_u32("general.quantization_version", 2);
  w.set_u32(a + "context_length", static_cast<uint32_t>(shape.n_ctx));
  w.set_u32(a + "embedding_length", static_cast<uint32_t>(d));
  w.set_u32(a + "block_count", static_cast<uint32_t>(shape.n_layer));
  w.set_u32(a + "feed_forward_length", static_cast<uint32_t>(ff));
  w.set_u32(a + "attention.head_count", static_cast<uint32_t>(shape.n_head));
  w.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(shape.n_head_kv));
  if (shape.head_dim) {
    w.set_u32(a + "attention.key_length", static_cast<uint32_t>(head_dim));
    w.set_u32(a + "attention.value_length", static_cast<uint32_t>(head_dim));
  }
  w.set_f32(a + "rope.freq_base", falcon ? 10000.0f : 500000.0f);
  if (falcon) w.set_f32(a + "attention.layer_norm_epsilon", 1e-5f);
  else w.set_f32(a + "attention.layer_norm_rms_epsilon", 1e-6f);
  if (std::string(shape.arch) == "llama") w.set_u32(a + "rope.dimension_count", static_cast<uint32_t>(head_dim));

  int64_t n_vocab = shape.n_vocab;
  if (!options.vocab_from.empty()) {
    auto src = GgufFile::open(options.vocab_from);
    for (const auto& [key, value] : src->metadata())
      if (key.rfind("tokenizer.", 0) == 0) w.set_value(key, value);
    const GgufValue* tokens = src->find("tokenizer.ggml.tokens");
    if (!tokens) throw FormatError("'" + options.vocab_from + "' has no tokenizer.ggml.tokens");
    n_vocab = static_cast<int64_t>(tokens->array_size());
  } else {
    const SpmVocab v = synthetic_vocab(n_vocab);
    write_spm_vocab(w, v);
    w.set_bool("tokenizer.ggml.add_bos_token", true);
  }

  const uint64_t seed = options.seed;
  const int n_layer = static_cast<int>(shape.n_layer);
  // A matrix of `rows` x `cols` with values of scale 1/sqrt(cols), so activations keep their size.
  auto matrix = [&](const std::string& name, int64_t cols, int64_t rows) {
    const TensorType type = choose_tensor_type(options.type, name, cols, 2, n_layer);
    const size_t row_size = row_bytes(type, cols);
    const bool embedding = name == "token_embd.weight" || name == "output.weight";
    const float std = embedding ? options.embedding_std : options.matrix_std;
    w.add_tensor_lazy(name, {cols, rows}, type, [=, &pool](uint8_t* dst, size_t) {
      const float half = std::sqrt(3.0f / static_cast<float>(cols));
      pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
        std::vector<float> row(cols);
        for (int64_t r = r0; r < r1; ++r) {
          if (std > 0) fill_row_normal(seed, name, r, std, row.data(), cols);
          else fill_row(seed, name, r, 0.0f, half, row.data(), cols);
          quantize_row(type, row.data(), dst + r * row_size, cols);
        }
      });
    });
  };
  auto vector = [&](const std::string& name, int64_t n, float center, float half) {
    w.add_tensor_lazy(name, {n}, TensorType::F32, [=](uint8_t* dst, size_t) {
      fill_row(seed, name, 0, center, half, reinterpret_cast<float*>(dst), n);
    });
  };

  matrix("token_embd.weight", d, n_vocab);
  vector("output_norm.weight", d, 1.0f, 0.1f);
  if (falcon) vector("output_norm.bias", d, 0.0f, 0.1f);
  if (!shape.tied_output) matrix("output.weight", d, n_vocab);
  for (int il = 0; il < n_layer; ++il) {
    auto name = [il](const char* s) { return "blk." + std::to_string(il) + "." + s; };
    vector(name("attn_norm.weight"), d, 1.0f, 0.1f);
    if (falcon) {
      vector(name("attn_norm.bias"), d, 0.0f, 0.1f);
      if (shape.falcon_norm2) {
        vector(name("attn_norm_2.weight"), d, 1.0f, 0.1f);
        vector(name("attn_norm_2.bias"), d, 0.0f, 0.1f);
      }
      matrix(name("attn_qkv.weight"), d, q + 2 * kvd);
    } else {
      matrix(name("attn_q.weight"), d, q);
      matrix(name("attn_k.weight"), d, kvd);
      matrix(name("attn_v.weight"), d, kvd);
      if (std::string(shape.arch) == "qwen2") {
        vector(name("attn_q.bias"), q, 0.0f, 0.1f);
        vector(name("attn_k.bias"), kvd, 0.0f, 0.1f);
        vector(name("attn_v.bias"), kvd, 0.0f, 0.1f);
      }
      if (std::string(shape.arch) == "qwen3") {
        vector(name("attn_q_norm.weight"), head_dim, 1.0f, 0.1f);
        vector(name("attn_k_norm.weight"), head_dim, 1.0f, 0.1f);
      }
      vector(name("ffn_norm.weight"), d, 1.0f, 0.1f);
      matrix(name("ffn_gate.weight"), d, ff);
    }
    matrix(name("attn_output.weight"), q, d);
    matrix(name("ffn_up.weight"), d, ff);
    matrix(name("ffn_down.weight"), ff, d);
  }
  w.write(path);
  size_t total = 0;
  auto f = GgufFile::open(path);
  for (const auto& t : f->tensors()) total += t.nbytes;
  return total;
}

}  // namespace citadel
