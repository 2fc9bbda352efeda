#include "model/synthetic_clip.h"

#include <cmath>
#include <random>

#include "core/fp16.h"
#include "core/gguf.h"
#include "core/gguf_writer.h"

namespace citadel {

namespace {

const ClipShape kShapes[] = {
    // 16 patches of 8x8 over a 32x32 input, into llama-tiny's 128-wide embeddings.
    {"clip-tiny", 32, 8, 64, 128, 4, 3, 128, 128},
    // LLaVA-1.5-7B's projector: CLIP ViT-L/14 at 336 (23 blocks kept), into 4096.
    {"llava-1.5-7b", 336, 14, 1024, 4096, 16, 23, 4096, 4096},
};

// Uniform values in [center - scale, center + scale), from a generator seeded per tensor.
std::vector<float> uniform(uint64_t seed, const std::string& name, size_t n, float center, float scale) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(std::hash<std::string>{}(name))};
  std::mt19937 rng(seq);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = center + scale * u(rng);
  return v;
}

}  // namespace

const ClipShape* find_clip_shape(const std::string& name) {
  for (const ClipShape& s : kShapes)
    if (name == s.name) return &s;
  return nullptr;
}

std::vector<std::string> clip_shape_names() {
  std::vector<std::string> names;
  for (const ClipShape& s : kShapes) names.push_back(s.name);
  return names;
}

void write_synthetic_mmproj(const ClipShape& s, uint64_t seed, TensorType type, const std::string& path) {
  if (type != TensorType::F32 && type != TensorType::F16) throw FormatError("mmproj matrices are f32 or f16");
  GgufWriter w;
  w.set_string("general.architecture", "clip");
  w.set_string("general.name", std::string("synthetic ") + s.name + " (random weights)");
  w.set_string("general.description", "image encoder for LLaVA");  // llama.cpp's clip.cpp requires it
  w.set_u32("general.file_type", type == TensorType::F16 ? 1 : 0);
  w.set_bool("clip.has_text_encoder", false);
  w.set_bool("clip.has_vision_encoder", true);
  w.set_bool("clip.has_llava_projector", true);
  w.set_string("clip.projector_type", "mlp");
  w.set_u32("clip.vision.image_size", static_cast<uint32_t>(s.image_size));
  w.set_u32("clip.vision.patch_size", static_cast<uint32_t>(s.patch_size));
  w.set_u32("clip.vision.embedding_length", static_cast<uint32_t>(s.n_embd));
  w.set_u32("clip.vision.feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.set_u32("clip.vision.projection_dim", static_cast<uint32_t>(s.n_proj));
  w.set_u32("clip.vision.attention.head_count", static_cast<uint32_t>(s.n_head));
  w.set_f32("clip.vision.attention.layer_norm_epsilon", 1e-5f);
  w.set_u32("clip.vision.block_count", static_cast<uint32_t>(s.n_layer));
  w.set_f32s("clip.vision.image_mean", {0.48145466f, 0.4578275f, 0.40821073f});
  w.set_f32s("clip.vision.image_std", {0.26862954f, 0.26130258f, 0.27577711f});
  w.set_bool("clip.use_gelu", false);

  auto vec = [&](const std::string& name, int64_t n, float center, float scale) {
    std::vector<float> v = uniform(seed, name, n, center, scale);
    w.add_tensor(name, {n}, TensorType::F32, v.data(), v.size() * sizeof(float));
  };
  // A weight matrix of `rows` x `cols` values, of scale 1/sqrt(cols) so activations stay O(1).
  auto mat = [&](const std::string& name, std::vector<int64_t> shape, int64_t cols, int64_t rows) {
    std::vector<float> v = uniform(seed, name, cols * rows, 0.0f, 1.0f / std::sqrt(static_cast<float>(cols)));
    if (type == TensorType::F32) {
      w.add_tensor(name, shape, type, v.data(), v.size() * sizeof(float));
    } else {
      std::vector<uint16_t> h(v.size());
      for (size_t i = 0; i < v.size(); ++i) h[i] = fp32_to_fp16(v[i]);
      w.add_tensor(name, shape, type, h.data(), h.size() * sizeof(uint16_t));
    }
  };
  const int64_t d = s.n_embd, p = s.patch_size, n_pos = (s.image_size / p) * (s.image_size / p) + 1;
  mat("v.patch_embd.weight", {p, p, 3, d}, 3 * p * p, d);
  vec("v.class_embd", d, 0.0f, 0.5f);
  {
    std::vector<float> v = uniform(seed, "v.position_embd.weight", d * n_pos, 0.0f, 0.5f);
    w.add_tensor("v.position_embd.weight", {d, n_pos}, TensorType::F32, v.data(), v.size() * sizeof(float));
  }
  vec("v.pre_ln.weight", d, 1.0f, 0.1f);
  vec("v.pre_ln.bias", d, 0.0f, 0.1f);
  for (int64_t il = 0; il < s.n_layer; ++il) {
    const std::string b = "v.blk." + std::to_string(il) + ".";
    for (const char* ln : {"ln1", "ln2"}) {
      vec(b + ln + ".weight", d, 1.0f, 0.1f);
      vec(b + ln + ".bias", d, 0.0f, 0.1f);
    }
    for (const char* m : {"attn_q", "attn_k", "attn_v", "attn_out"}) {
      mat(b + m + ".weight", {d, d}, d, d);
      vec(b + m + ".bias", d, 0.0f, 0.1f);
    }
    // llama.cpp's names: ffn_down is the first (widening) matrix, ffn_up the second.
    mat(b + "ffn_down.weight", {d, s.n_ff}, d, s.n_ff);
    vec(b + "ffn_down.bias", s.n_ff, 0.0f, 0.1f);
    mat(b + "ffn_up.weight", {s.n_ff, d}, s.n_ff, d);
    vec(b + "ffn_up.bias", d, 0.0f, 0.1f);
  }
  mat("mm.0.weight", {d, s.n_mid}, d, s.n_mid);
  vec("mm.0.bias", s.n_mid, 0.0f, 0.1f);
  mat("mm.2.weight", {s.n_mid, s.n_proj}, s.n_mid, s.n_proj);
  vec("mm.2.bias", s.n_proj, 0.0f, 0.1f);
  w.write(path);
}

}  // namespace citadel
