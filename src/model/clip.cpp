// CLIP ViT + LLaVA MLP projector, in the order llama.cpp's clip.cpp computes it:
//   patches (conv as a matmul) [+ bias] -> [class token] + position embeddings -> pre-LayerNorm
//   -> blocks: x += o(attn(LN1 x)); x += ff2(act(ff1(LN2 x)))   (all blocks but the last)
//   -> [post-LayerNorm] -> drop the class token -> mm.2(gelu(mm.0 x)).
#include "model/clip.h"

#include <algorithm>
#include <cmath>

#include "core/gemm_f32.h"
#include "core/gguf.h"
#include "core/matmul.h"
#include "core/ops.h"

namespace citadel {

ClipModel::~ClipModel() = default;

namespace {

Tensor tensor_of(const GgufFile& f, const std::string& name, bool required) {
  const GgufTensorInfo* info = f.find_tensor(name);
  if (!info) {
    if (required) throw FormatError("mmproj lacks tensor '" + name + "'");
    return {};
  }
  Tensor t;
  t.name = name;
  t.type = info->type;
  for (size_t d = 0; d < info->shape.size() && d < 4; ++d) t.ne[d] = info->shape[d];
  t.data = info->data;
  if (!type_traits(t.type).supported)
    throw FormatError("mmproj tensor '" + name + "' has type " + type_name(t.type) + ", which Citadel cannot compute with");
  return t;
}

// A matrix of `rows` rows of `cols` values (any supported type), or a vector of `cols` f32 values.
Tensor expect(const GgufFile& f, const std::string& name, int64_t cols, int64_t rows, bool required = true) {
  Tensor t = tensor_of(f, name, required);
  if (!t.present()) return t;
  const int64_t elems = t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3];
  if (elems != cols * rows)
    throw FormatError("mmproj tensor '" + name + "' has " + std::to_string(elems) + " values, expected " +
                      std::to_string(cols) + " x " + std::to_string(rows));
  if (rows == 1 && t.type != TensorType::F32)
    throw FormatError("mmproj tensor '" + name + "' (a norm, bias or embedding) must be f32, not " + type_name(t.type));
  // The patch convolution's kernel [P, P, 3, n_embd] is read as n_embd rows of 3 P^2.
  t.ne[0] = cols;
  t.ne[1] = rows;
  t.ne[2] = t.ne[3] = 1;
  return t;
}

void add_bias(const Tensor& b, float* y, int64_t n) {
  if (!b.present()) return;
  for (int64_t t = 0; t < n; ++t) add(y + t * b.ne[0], b.f32(), b.ne[0]);
}

void linear(const Tensor& w, const Tensor& b, const float* x, int64_t n, float* y, ThreadPool& pool) {
  matmul(w, x, n, y, pool);
  add_bias(b, y, n);
}

void layer_norm_rows(const float* x, const Tensor& w, const Tensor& b, float* out, int64_t n, int64_t d, float eps) {
  for (int64_t t = 0; t < n; ++t) layer_norm(x + t * d, w.f32(), b.f32(), out + t * d, d, eps);
}

float gelu_quick(float x) { return x / (1.0f + std::exp(-1.702f * x)); }

// Full (not causal) multi-head attention over the n rows of q, k, v (n x d each, heads side by
// side): out = softmax(q k^T / sqrt(hd)) v per head.
void bidirectional_attention(const float* q, const float* k, const float* v, int64_t n, int64_t n_head, int64_t hd,
                             float* out, ThreadPool& pool) {
  const int64_t d = n_head * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  std::vector<float> qh(n * hd), kh(n * hd), vh(n * hd), scores(n * n), oh(n * hd);
  for (int64_t h = 0; h < n_head; ++h) {
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t i = 0; i < hd; ++i) {
        qh[t * hd + i] = q[t * d + h * hd + i] * scale;
        kh[t * hd + i] = k[t * d + h * hd + i];
        vh[t * hd + i] = v[t * d + h * hd + i];
      }
    }
    gemm_abt(qh.data(), kh.data(), scores.data(), n, n, hd, pool);
    for (int64_t t = 0; t < n; ++t) {
      float* row = scores.data() + t * n;
      const float max = *std::max_element(row, row + n);
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) sum += (row[j] = std::exp(row[j] - max));
      const float inv = static_cast<float>(1.0 / sum);
      for (int64_t j = 0; j < n; ++j) row[j] *= inv;
    }
    std::fill(oh.begin(), oh.end(), 0.0f);
    gemm_ab_acc(scores.data(), vh.data(), oh.data(), n, hd, n, pool);
    for (int64_t t = 0; t < n; ++t) std::copy_n(oh.data() + t * hd, hd, out + t * d + h * hd);
  }
}

}  // namespace

std::unique_ptr<ClipModel> ClipModel::load(const std::string& path) {
  std::unique_ptr<ClipModel> m(new ClipModel());
  m->file_ = GgufFile::open(path);
  const GgufFile& f = *m->file_;
  if (!f.get_bool("clip.has_vision_encoder", false))
    throw FormatError(path + " is not a vision projector (mmproj) file: clip.has_vision_encoder is not set");
  if (f.get_bool("clip.has_text_encoder", false)) throw FormatError(path + ": CLIP text encoders are not supported");
  for (const char* key : {"clip.has_minicpmv_projector", "clip.has_glm_projector", "clip.has_qwen2vl_merger"})
    if (f.get_bool(key, false)) throw FormatError(path + ": " + key + " is set; only LLaVA-1.5's MLP projector is supported");
  if (!f.get_bool("clip.has_llava_projector", false))
    throw FormatError(path + ": clip.has_llava_projector is not set; only LLaVA-1.5's MLP projector is supported");
  const std::string proj = f.get_string("clip.projector_type", "mlp");
  if (proj != "mlp") throw FormatError(path + ": projector type '" + proj + "' is not supported (only LLaVA-1.5's 'mlp')");
  if (f.get_string("clip.vision.mm_patch_merge_type", "flat") != "flat" || f.has("clip.vision.image_grid_pinpoints"))
    throw FormatError(path + ": LLaVA-1.6 (anyres, spatial_unpad) projectors are not supported, only LLaVA-1.5's");

  ClipHParams& hp = m->hp_;
  hp.image_size = f.require_int("clip.vision.image_size");
  hp.patch_size = f.require_int("clip.vision.patch_size");
  hp.n_embd = f.require_int("clip.vision.embedding_length");
  hp.n_ff = f.require_int("clip.vision.feed_forward_length");
  hp.n_head = f.require_int("clip.vision.attention.head_count");
  hp.n_layer = f.require_int("clip.vision.block_count");
  hp.eps = static_cast<float>(f.get_double("clip.vision.attention.layer_norm_epsilon", 1e-5));
  hp.use_gelu = f.get_bool("clip.use_gelu", false);
  if (hp.patch_size <= 0 || hp.image_size <= 0 || hp.image_size % hp.patch_size != 0 || hp.image_size > 4096)
    throw FormatError(path + ": image size " + std::to_string(hp.image_size) + " is not a multiple of patch size " +
                      std::to_string(hp.patch_size));
  if (hp.n_embd <= 0 || hp.n_head <= 0 || hp.n_embd % hp.n_head != 0 || hp.n_ff <= 0 || hp.n_layer < 1 ||
      hp.n_layer > 1024)
    throw FormatError(path + ": inconsistent vision hyper-parameters");
  // llama.cpp (c392e50) runs all blocks but the last for LLaVA: the converter keeps the layer the
  // projector was trained on as the file's last block minus one.
  hp.n_layer_run = hp.n_layer - 1;
  for (const char* key : {"clip.vision.image_mean", "clip.vision.image_std"}) {
    const GgufValue* v = f.find(key);
    if (!v) throw FormatError(path + " lacks " + key);
    std::vector<float> vals = v->as_floats();
    if (vals.size() != 3) throw FormatError(path + ": " + key + " must hold 3 values");
    for (int c = 0; c < 3; ++c) (std::string(key).ends_with("mean") ? hp.image_mean : hp.image_std)[c] = vals[c];
  }
  for (float s : hp.image_std)
    if (!(s > 0)) throw FormatError(path + ": clip.vision.image_std must be positive");

  ClipWeights& w = m->w_;
  const int64_t d = hp.n_embd, p = hp.patch_size;
  w.class_embd = expect(f, "v.class_embd", d, 1, false);
  const int64_t n_pos = hp.n_patches() + (w.class_embd.present() ? 1 : 0);
  w.patch_embd = expect(f, "v.patch_embd.weight", 3 * p * p, d);
  w.patch_bias = expect(f, "v.patch_embd.bias", d, 1, false);
  w.pos_embd = expect(f, "v.position_embd.weight", d, n_pos);
  if (w.pos_embd.type != TensorType::F32 && w.pos_embd.type != TensorType::F16)
    throw FormatError(path + ": v.position_embd.weight must be f32 or f16");
  w.pre_ln_w = expect(f, "v.pre_ln.weight", d, 1, false);
  w.pre_ln_b = expect(f, "v.pre_ln.bias", d, 1, w.pre_ln_w.present());
  w.post_ln_w = expect(f, "v.post_ln.weight", d, 1, false);
  w.post_ln_b = expect(f, "v.post_ln.bias", d, 1, w.post_ln_w.present());
  w.layers.resize(hp.n_layer);
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    auto name = [il](const char* s) { return "v.blk." + std::to_string(il) + "." + s; };
    ClipLayer& l = w.layers[il];
    l.ln1_w = expect(f, name("ln1.weight"), d, 1);
    l.ln1_b = expect(f, name("ln1.bias"), d, 1);
    l.ln2_w = expect(f, name("ln2.weight"), d, 1);
    l.ln2_b = expect(f, name("ln2.bias"), d, 1);
    l.q_w = expect(f, name("attn_q.weight"), d, d);
    l.q_b = expect(f, name("attn_q.bias"), d, 1);
    l.k_w = expect(f, name("attn_k.weight"), d, d);
    l.k_b = expect(f, name("attn_k.bias"), d, 1);
    l.v_w = expect(f, name("attn_v.weight"), d, d);
    l.v_b = expect(f, name("attn_v.bias"), d, 1);
    l.o_w = expect(f, name("attn_out.weight"), d, d);
    l.o_b = expect(f, name("attn_out.bias"), d, 1);
    l.ff1_w = expect(f, name("ffn_down.weight"), d, hp.n_ff);
    l.ff1_b = expect(f, name("ffn_down.bias"), hp.n_ff, 1);
    l.ff2_w = expect(f, name("ffn_up.weight"), hp.n_ff, d);
    l.ff2_b = expect(f, name("ffn_up.bias"), d, 1);
  }
  const GgufTensorInfo* mm0 = f.find_tensor("mm.0.weight");
  const GgufTensorInfo* mm2 = f.find_tensor("mm.2.weight");
  if (!mm0 || !mm2 || mm0->shape.size() != 2 || mm2->shape.size() != 2)
    throw FormatError(path + ": the LLaVA projector needs matrices mm.0.weight and mm.2.weight");
  const int64_t n_mid = mm0->shape[1];
  hp.n_proj = mm2->shape[1];
  w.mm0_w = expect(f, "mm.0.weight", d, n_mid);
  w.mm0_b = expect(f, "mm.0.bias", n_mid, 1);
  w.mm2_w = expect(f, "mm.2.weight", n_mid, hp.n_proj);
  w.mm2_b = expect(f, "mm.2.bias", hp.n_proj, 1);
  return m;
}

std::vector<float> ClipModel::preprocess(const Image& img) const {
  if (img.width <= 0 || img.height <= 0 || img.rgb.size() != static_cast<size_t>(img.width) * img.height * 3)
    throw ImageError("the image has no pixels");
  // Pad to a square of the longer side with LLaVA's background colour (its mean colour x 255).
  const int64_t side = std::max(img.width, img.height);
  std::vector<uint8_t> sq;
  const std::vector<uint8_t>* src = &img.rgb;
  if (img.width != img.height) {
    static const uint8_t background[3] = {122, 116, 104};
    sq.resize(side * side * 3);
    for (size_t i = 0; i < sq.size(); ++i) sq[i] = background[i % 3];
    for (int64_t y = 0; y < img.height; ++y)
      std::copy_n(img.rgb.data() + y * img.width * 3, img.width * 3, sq.data() + y * side * 3);
    src = &sq;
  }
  // Linear resize to image_size (pixel centres aligned, edges clamped, as llama.cpp), each value
  // rounded to 8 bits before normalising.
  const int64_t n = hp_.image_size;
  const float scale = static_cast<float>(side) / static_cast<float>(n);
  std::vector<float> out(3 * n * n, 0.0f);
  for (int64_t y = 0; y < n; ++y) {
    for (int64_t x = 0; x < n; ++x) {
      const float sx = (x + 0.5f) * scale - 0.5f, sy = (y + 0.5f) * scale - 0.5f;
      const int64_t x0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(sx)));
      const int64_t y0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(sy)));
      const int64_t x1 = std::min<int64_t>(x0 + 1, side - 1), y1 = std::min<int64_t>(y0 + 1, side - 1);
      const float dx = sx - x0, dy = sy - y0;
      for (int c = 0; c < 3; ++c) {
        auto at = [&](int64_t yy, int64_t xx) { return static_cast<float>((*src)[3 * (yy * side + xx) + c]); };
        const float v0 = at(y0, x0) * (1.0f - dx) + at(y0, x1) * dx;
        const float v1 = at(y1, x0) * (1.0f - dx) + at(y1, x1) * dx;
        const float v = v0 * (1.0f - dy) + v1 * dy;
        const float u8 = std::min(std::max(std::round(v), 0.0f), 255.0f);
        out[c * n * n + y * n + x] = (u8 / 255.0f - hp_.image_mean[c]) / hp_.image_std[c];
      }
    }
  }
  return out;
}

std::vector<float> ClipModel::encode(const std::vector<float>& pixels, ThreadPool& pool) const {
  const ClipHParams& hp = hp_;
  const ClipWeights& w = w_;
  const int64_t S = hp.image_size, P = hp.patch_size, G = S / P, d = hp.n_embd;
  if (static_cast<int64_t>(pixels.size()) != 3 * S * S) throw ImageError("the preprocessed image has the wrong size");
  const int64_t n_patch = G * G, first = w.class_embd.present() ? 1 : 0, n = n_patch + first;

  // Patch embedding: each P x P patch (channels, rows, columns) is one row times the kernel.
  std::vector<float> patches(n_patch * 3 * P * P), x(n * d);
  for (int64_t py = 0; py < G; ++py)
    for (int64_t px = 0; px < G; ++px) {
      float* row = patches.data() + (py * G + px) * 3 * P * P;
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t ky = 0; ky < P; ++ky)
          for (int64_t kx = 0; kx < P; ++kx)
            *row++ = pixels[c * S * S + (py * P + ky) * S + px * P + kx];
    }
  linear(w.patch_embd, w.patch_bias, patches.data(), n_patch, x.data() + first * d, pool);
  if (first) std::copy_n(w.class_embd.f32(), d, x.data());
  std::vector<float> pos(d);
  for (int64_t t = 0; t < n; ++t) {
    get_row(w.pos_embd, t, pos.data());
    add(x.data() + t * d, pos.data(), d);
  }
  if (w.pre_ln_w.present()) layer_norm_rows(x.data(), w.pre_ln_w, w.pre_ln_b, x.data(), n, d, hp.eps);

  std::vector<float> xn(n * d), q(n * d), k(n * d), v(n * d), attn(n * d), branch(n * d), ff(n * hp.n_ff);
  for (int64_t il = 0; il < hp.n_layer_run; ++il) {
    const ClipLayer& l = w.layers[il];
    layer_norm_rows(x.data(), l.ln1_w, l.ln1_b, xn.data(), n, d, hp.eps);
    const MatmulOut qkv[] = {{&l.q_w, q.data()}, {&l.k_w, k.data()}, {&l.v_w, v.data()}};
    matmul(qkv, 3, xn.data(), n, pool);
    add_bias(l.q_b, q.data(), n);
    add_bias(l.k_b, k.data(), n);
    add_bias(l.v_b, v.data(), n);
    bidirectional_attention(q.data(), k.data(), v.data(), n, hp.n_head, d / hp.n_head, attn.data(), pool);
    linear(l.o_w, l.o_b, attn.data(), n, branch.data(), pool);
    add(x.data(), branch.data(), n * d);

    layer_norm_rows(x.data(), l.ln2_w, l.ln2_b, xn.data(), n, d, hp.eps);
    linear(l.ff1_w, l.ff1_b, xn.data(), n, ff.data(), pool);
    for (float& u : ff) u = hp.use_gelu ? gelu(u) : gelu_quick(u);
    linear(l.ff2_w, l.ff2_b, ff.data(), n, branch.data(), pool);
    add(x.data(), branch.data(), n * d);
  }
  if (w.post_ln_w.present()) layer_norm_rows(x.data(), w.post_ln_w, w.post_ln_b, x.data(), n, d, hp.eps);

  // The projector sees the patch rows only (the class token is dropped).
  const int64_t n_mid = w.mm0_w.rows();
  std::vector<float> mid(n_patch * n_mid), out(n_patch * hp.n_proj);
  linear(w.mm0_w, w.mm0_b, x.data() + first * d, n_patch, mid.data(), pool);
  for (float& u : mid) u = gelu(u);
  linear(w.mm2_w, w.mm2_b, mid.data(), n_patch, out.data(), pool);
  return out;
}

}  // namespace citadel
