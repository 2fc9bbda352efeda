#include "model/llama2c.h"

#include <cstring>
#include <fstream>
#include <map>
#include <tuple>

#include "core/gguf.h"
#include "core/mapped_file.h"
#include "model/spm_vocab.h"

namespace citadel {
namespace {

constexpr uint32_t kMagicV1 = 0x616b3432;  // "ak42"

struct Header {
  int32_t dim, hidden, n_layer, n_head, n_head_kv, vocab, seq_len;
  bool shared = true;
  size_t weights_offset = 0;
  bool v1 = false;
};

bool read_header(const uint8_t* p, size_t n, Header* h) {
  if (n < 28) return false;
  uint32_t magic = 0;
  std::memcpy(&magic, p, 4);
  if (magic == kMagicV1) {
    int32_t version = 0;
    if (n < 256) return false;
    std::memcpy(&version, p + 4, 4);
    if (version != 1) throw FormatError("llama2.c checkpoint version " + std::to_string(version) + " is not supported (1)");
    std::memcpy(&h->dim, p + 8, 28);
    h->shared = p[36] != 0;
    h->weights_offset = 256;
    h->v1 = true;
  } else {
    std::memcpy(&h->dim, p, 28);
    h->shared = h->vocab > 0;
    if (h->vocab < 0) h->vocab = -h->vocab;
    h->weights_offset = 28;
  }
  auto ok = [](int32_t v) { return v > 0 && v <= (1 << 20); };
  return ok(h->dim) && ok(h->hidden) && ok(h->n_layer) && h->n_layer <= 1024 && ok(h->n_head) && ok(h->n_head_kv) &&
         ok(h->vocab) && ok(h->seq_len) && h->dim % h->n_head == 0 && h->n_head % h->n_head_kv == 0 &&
         (h->dim / h->n_head) % 2 == 0;
}

SpmVocab read_tokenizer_bin(const std::string& path, int32_t n_vocab) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  int32_t max_len = 0;
  if (!in.read(reinterpret_cast<char*>(&max_len), 4)) throw FormatError(path + ": truncated header");
  SpmVocab v;
  for (int32_t id = 0; id < n_vocab; ++id) {
    float score = 0;
    int32_t len = 0;
    if (!in.read(reinterpret_cast<char*>(&score), 4) || !in.read(reinterpret_cast<char*>(&len), 4))
      throw FormatError(path + ": ends after " + std::to_string(id) + " of " + std::to_string(n_vocab) + " tokens");
    if (len < 0 || len > (1 << 16)) throw FormatError(path + ": token " + std::to_string(id) + " has length " + std::to_string(len));
    std::string text(static_cast<size_t>(len), '\0');
    if (!in.read(text.data(), len)) throw FormatError(path + ": token " + std::to_string(id) + " is truncated");
    int32_t type = 1;  // normal
    if (id == 0) text = "<unk>", type = 2;
    else if (id == 1) text = "<s>", type = 3;
    else if (id == 2) text = "</s>", type = 3;
    else if (text.size() == 6 && text.compare(0, 3, "<0x") == 0 && text[5] == '>') type = 6;
    else {
      // llama2.c stores SentencePiece's U+2581 word marks as plain spaces.
      std::string out;
      for (char c : text) out += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
      text = out;
    }
    v.tokens.push_back(std::move(text));
    v.scores.push_back(score);
    v.types.push_back(type);
  }
  return v;
}

}  // namespace

bool is_llama2c_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint8_t buf[256] = {};
  in.read(reinterpret_cast<char*>(buf), sizeof buf);
  Header h{};
  try {
    return read_header(buf, static_cast<size_t>(in.gcount()), &h);
  } catch (const FormatError&) {
    return true;  // the magic matched; open_llama2c reports the version
  }
}

std::unique_ptr<WeightSource> open_llama2c(const std::string& checkpoint_path, const std::string& tokenizer_path) {
  auto file = std::make_shared<MappedFile>(checkpoint_path);
  Header h{};
  if (!read_header(file->data(), file->size(), &h))
    throw FormatError(checkpoint_path + ": not a llama2.c checkpoint (implausible header)");
  const int64_t dim = h.dim, hidden = h.hidden, L = h.n_layer, vocab = h.vocab;
  const int64_t head = dim / h.n_head, kv_dim = head * h.n_head_kv;

  auto src = std::make_unique<WeightSource>();
  src->description = checkpoint_path;
  src->keep_alive.push_back(file);
  src->n_layer = static_cast<int>(L);

  // Lays out the fp32 arrays in file order; each named per layer or once.
  const uint8_t* base = file->data() + h.weights_offset;
  size_t offset = 0;
  std::vector<std::tuple<std::string, std::vector<int64_t>, size_t>> placed;
  auto take = [&](const std::string& name, std::vector<int64_t> ne) {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    placed.emplace_back(name, ne, offset);
    offset += static_cast<size_t>(n) * 4;
  };
  auto per_layer = [&](const char* suffix, std::vector<int64_t> ne) {
    for (int64_t il = 0; il < L; ++il) take("blk." + std::to_string(il) + "." + suffix, ne);
  };
  auto matrices = [&] {
    per_layer("attn_q.weight", {dim, dim});
    per_layer("attn_k.weight", {dim, kv_dim});
    per_layer("attn_v.weight", {dim, kv_dim});
    per_layer("attn_output.weight", {dim, dim});
  };
  auto ffn = [&] {
    per_layer("ffn_gate.weight", {dim, hidden});
    per_layer("ffn_down.weight", {hidden, dim});
    per_layer("ffn_up.weight", {dim, hidden});
  };
  if (h.v1) {
    per_layer("attn_norm.weight", {dim});
    per_layer("ffn_norm.weight", {dim});
    take("output_norm.weight", {dim});
    take("token_embd.weight", {dim, vocab});
    matrices();
    ffn();
  } else {
    take("token_embd.weight", {dim, vocab});
    per_layer("attn_norm.weight", {dim});
    matrices();
    per_layer("ffn_norm.weight", {dim});
    ffn();
    take("output_norm.weight", {dim});
    offset += static_cast<size_t>(h.seq_len) * head * 4;  // RoPE cos and sin tables, recomputed
  }
  if (!h.shared) take("output.weight", {dim, vocab});
  if (h.weights_offset + offset > file->size())
    throw FormatError(checkpoint_path + ": " + std::to_string(file->size()) + " bytes, but its header needs " +
                      std::to_string(h.weights_offset + offset));

  std::map<std::string, SourceTensor> by_name;
  for (const auto& [name, ne, off] : placed) {
    SourceTensor t;
    t.name = name;
    t.ne = ne;
    t.type = TensorType::F32;
    t.data = base + off;
    by_name[name] = t;
  }
  if (h.shared) {  // llama.cpp's converter writes the shared classifier out as output.weight
    SourceTensor t = by_name["token_embd.weight"];
    t.name = "output.weight";
    by_name[t.name] = t;
  }
  // GGUF order as llama.cpp writes it.
  for (const char* n : {"token_embd.weight", "output_norm.weight", "output.weight"}) src->tensors.push_back(by_name[n]);
  for (int64_t il = 0; il < L; ++il)
    for (const char* s : {"attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight", "attn_norm.weight",
                          "ffn_gate.weight", "ffn_down.weight", "ffn_up.weight", "ffn_norm.weight"})
      src->tensors.push_back(by_name["blk." + std::to_string(il) + "." + s]);

  const SpmVocab v = read_tokenizer_bin(tokenizer_path, h.vocab);
  GgufWriter& w = src->metadata;
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "llama");
  write_spm_vocab(w, v);
  w.set_u32("llama.context_length", static_cast<uint32_t>(h.seq_len));
  w.set_u32("llama.embedding_length", static_cast<uint32_t>(dim));
  w.set_u32("llama.feed_forward_length", static_cast<uint32_t>(hidden));
  w.set_u32("llama.attention.head_count", static_cast<uint32_t>(h.n_head));
  w.set_u32("llama.attention.head_count_kv", static_cast<uint32_t>(h.n_head_kv));
  w.set_u32("llama.block_count", static_cast<uint32_t>(L));
  w.set_u32("llama.rope.dimension_count", static_cast<uint32_t>(head));
  w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  return src;
}

}  // namespace citadel
