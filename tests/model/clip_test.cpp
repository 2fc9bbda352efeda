// The LLaVA-1.5 vision encoder + projector against a plain double-precision reference written
// here from the description of llama.cpp's clip.cpp (not from our code), and the preprocessing
// against hand-computed pixels.
#include "model/clip.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include "core/gguf.h"
#include "core/gguf_writer.h"
#include "model/synthetic_clip.h"
#include "test_paths.h"

using namespace citadel;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + "-" + std::to_string(getpid()) + ".gguf")).string();
}

using Mat = std::vector<double>;  // row-major

struct Ref {
  const GgufFile& f;
  Mat get(const std::string& name) const {
    const GgufTensorInfo* t = f.find_tensor(name);
    EXPECT_TRUE(t) << name;
    EXPECT_EQ(t->type, TensorType::F32) << name;
    const float* p = static_cast<const float*>(t->data);
    return Mat(p, p + t->n_elements());
  }
  // y (n x rows) = x (n x cols) W^T + b, W stored as rows of cols.
  Mat linear(const Mat& x, int64_t n, const std::string& w, const std::string& b) const {
    Mat W = get(w), B = get(b);
    const int64_t rows = static_cast<int64_t>(B.size()), cols = static_cast<int64_t>(W.size()) / rows;
    Mat y(n * rows);
    for (int64_t t = 0; t < n; ++t)
      for (int64_t r = 0; r < rows; ++r) {
        double s = B[r];
        for (int64_t c = 0; c < cols; ++c) s += W[r * cols + c] * x[t * cols + c];
        y[t * rows + r] = s;
      }
    return y;
  }
  Mat norm(const Mat& x, int64_t n, const std::string& prefix, double eps) const {
    Mat w = get(prefix + ".weight"), b = get(prefix + ".bias"), y(x.size());
    const int64_t d = static_cast<int64_t>(w.size());
    for (int64_t t = 0; t < n; ++t) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < d; ++i) mean += x[t * d + i];
      mean /= d;
      for (int64_t i = 0; i < d; ++i) var += (x[t * d + i] - mean) * (x[t * d + i] - mean);
      var /= d;
      for (int64_t i = 0; i < d; ++i) y[t * d + i] = (x[t * d + i] - mean) / std::sqrt(var + eps) * w[i] + b[i];
    }
    return y;
  }
};

// LLaVA-1.5 over planar pixels (3 x S x S), in double.
Mat reference_encode(const GgufFile& f, const std::vector<float>& pixels) {
  Ref r{f};
  const int64_t S = f.get_int("clip.vision.image_size", 0), P = f.get_int("clip.vision.patch_size", 0);
  const int64_t d = f.get_int("clip.vision.embedding_length", 0), H = f.get_int("clip.vision.attention.head_count", 0);
  const int64_t blocks = f.get_int("clip.vision.block_count", 0);
  const double eps = f.get_double("clip.vision.attention.layer_norm_epsilon", 0);
  const int64_t G = S / P, np = G * G, n = np + 1, hd = d / H;
  // Patch convolution, kernel [d][c][ky][kx], stride P.
  Mat K = r.get("v.patch_embd.weight"), x(n * d), cls = r.get("v.class_embd"), pos = r.get("v.position_embd.weight");
  for (int64_t i = 0; i < d; ++i) x[i] = cls[i];
  for (int64_t py = 0; py < G; ++py)
    for (int64_t px = 0; px < G; ++px)
      for (int64_t o = 0; o < d; ++o) {
        double s = 0;
        for (int64_t c = 0; c < 3; ++c)
          for (int64_t ky = 0; ky < P; ++ky)
            for (int64_t kx = 0; kx < P; ++kx)
              s += K[((o * 3 + c) * P + ky) * P + kx] * pixels[(c * S + py * P + ky) * S + px * P + kx];
        x[(1 + py * G + px) * d + o] = s;
      }
  for (int64_t i = 0; i < n * d; ++i) x[i] += pos[i];
  x = r.norm(x, n, "v.pre_ln", eps);
  for (int64_t il = 0; il + 1 < blocks; ++il) {  // the last block does not feed the projector
    const std::string b = "v.blk." + std::to_string(il) + ".";
    Mat h = r.norm(x, n, b + "ln1", eps);
    Mat q = r.linear(h, n, b + "attn_q.weight", b + "attn_q.bias");
    Mat k = r.linear(h, n, b + "attn_k.weight", b + "attn_k.bias");
    Mat v = r.linear(h, n, b + "attn_v.weight", b + "attn_v.bias");
    Mat a(n * d, 0.0);
    for (int64_t head = 0; head < H; ++head)
      for (int64_t i = 0; i < n; ++i) {
        std::vector<double> s(n);
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j < n; ++j) {
          double dot = 0;
          for (int64_t e = 0; e < hd; ++e) dot += q[i * d + head * hd + e] * k[j * d + head * hd + e];
          s[j] = dot / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[j]);
        }
        for (double& z : s) sum += (z = std::exp(z - mx));
        for (int64_t j = 0; j < n; ++j)
          for (int64_t e = 0; e < hd; ++e) a[i * d + head * hd + e] += s[j] / sum * v[j * d + head * hd + e];
      }
    Mat o = r.linear(a, n, b + "attn_out.weight", b + "attn_out.bias");
    for (int64_t i = 0; i < n * d; ++i) x[i] += o[i];
    h = r.norm(x, n, b + "ln2", eps);
    Mat u = r.linear(h, n, b + "ffn_down.weight", b + "ffn_down.bias");  // the first FFN matrix
    for (double& z : u) z = z / (1.0 + std::exp(-1.702 * z));         // quick GELU
    Mat dn = r.linear(u, n, b + "ffn_up.weight", b + "ffn_up.bias");
    for (int64_t i = 0; i < n * d; ++i) x[i] += dn[i];
  }
  Mat patches(x.begin() + d, x.end());
  Mat m = r.linear(patches, np, "mm.0.weight", "mm.0.bias");
  for (double& z : m) z = 0.5 * z * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (z + 0.044715 * z * z * z)));
  return r.linear(m, np, "mm.2.weight", "mm.2.bias");
}

Image test_image(int w, int h) {
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(w * h * 3);
  for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<uint8_t>((i * 53 + i / 7) % 256);
  return img;
}

struct ClipTest : ::testing::Test {
  void SetUp() override {
    path = temp_path("clip-tiny");
    write_synthetic_mmproj(*find_clip_shape("clip-tiny"), 7, TensorType::F32, path);
    clip = ClipModel::load(path);
  }
  void TearDown() override { std::remove(path.c_str()); }
  std::string path;
  std::unique_ptr<ClipModel> clip;
};

}  // namespace

TEST_F(ClipTest, HyperParametersFromTheFile) {
  const ClipHParams& hp = clip->hparams();
  EXPECT_EQ(hp.image_size, 32);
  EXPECT_EQ(hp.patch_size, 8);
  EXPECT_EQ(clip->n_patches(), 16);
  EXPECT_EQ(clip->n_embd_out(), 128);
  EXPECT_EQ(hp.n_layer, 3);
  EXPECT_EQ(hp.n_layer_run, 2);
  EXPECT_FLOAT_EQ(hp.image_mean[0], 0.48145466f);
  EXPECT_FLOAT_EQ(hp.image_std[2], 0.27577711f);
  EXPECT_FALSE(hp.use_gelu);
}

TEST_F(ClipTest, EncoderMatchesDoublePrecisionReference) {
  ThreadPool pool(2);
  const std::vector<float> pixels = clip->preprocess(test_image(32, 32));
  const std::vector<float> ours = clip->encode(pixels, pool);
  auto file = GgufFile::open(path);
  const Mat ref = reference_encode(*file, pixels);
  ASSERT_EQ(ours.size(), ref.size());
  double max_err = 0, max_ref = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    max_err = std::max(max_err, std::abs(ours[i] - ref[i]));
    max_ref = std::max(max_ref, std::abs(ref[i]));
  }
  EXPECT_GT(max_ref, 0.1);  // the comparison sees real values
  EXPECT_LT(max_err / max_ref, 1e-4) << "max error " << max_err << " of " << max_ref;
}

TEST_F(ClipTest, PreprocessAtEncoderSizeIsNormalisationOnly) {
  const Image img = test_image(32, 32);
  const std::vector<float> px = clip->preprocess(img);
  ASSERT_EQ(px.size(), 3u * 32 * 32);
  const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f}, sd[3] = {0.26862954f, 0.26130258f, 0.27577711f};
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x)
        ASSERT_FLOAT_EQ(px[c * 1024 + y * 32 + x], (img.rgb[(y * 32 + x) * 3 + c] / 255.0f - mean[c]) / sd[c])
            << c << " " << y << " " << x;
}

TEST_F(ClipTest, PreprocessPadsWithLlavaBackgroundAndResizesLinearly) {
  // 64 x 32: padded below to 64 x 64 with (122, 116, 104), then halved: each output pixel the
  // rounded mean of a 2 x 2 block.
  const Image img = test_image(64, 32);
  const std::vector<float> px = clip->preprocess(img);
  const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f}, sd[3] = {0.26862954f, 0.26130258f, 0.27577711f};
  const uint8_t bg[3] = {122, 116, 104};
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) {
        float v;
        if (y >= 16) {
          v = bg[c];
        } else {
          auto at = [&](int yy, int xx) { return static_cast<float>(img.rgb[(yy * 64 + xx) * 3 + c]); };
          const float top = at(2 * y, 2 * x) * 0.5f + at(2 * y, 2 * x + 1) * 0.5f;
          const float bottom = at(2 * y + 1, 2 * x) * 0.5f + at(2 * y + 1, 2 * x + 1) * 0.5f;
          v = std::round(top * 0.5f + bottom * 0.5f);
        }
        ASSERT_FLOAT_EQ(px[c * 1024 + y * 32 + x], (v / 255.0f - mean[c]) / sd[c]) << c << " " << y << " " << x;
      }
  }
  // Tall images are padded on the right; a tiny image is upscaled without reading outside it.
  EXPECT_EQ(clip->preprocess(test_image(5, 40)).size(), 3u * 32 * 32);
  EXPECT_EQ(clip->preprocess(test_image(1, 1)).size(), 3u * 32 * 32);
}

TEST_F(ClipTest, SameImageSameRowsDifferentImageDifferentRows) {
  ThreadPool pool(1);
  const auto a = clip->embed(test_image(40, 30), pool);
  const auto b = clip->embed(test_image(40, 30), pool);
  Image other = test_image(40, 30);
  other.rgb[0] ^= 0xFF;
  const auto c = clip->embed(other, pool);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

// Against llama.cpp itself: tests/data/clip holds the rows llama.cpp c392e50's LLaVA code
// (llava_image_embed_make_with_filename: stb_image, clip_image_preprocess, clip_image_encode)
// computed for `citadel synth --shape clip-tiny --seed 7` as f32 and f16, on PNGs of test_image()'s
// pixels at the encoder's size (32x32) and another (40x24: padded, resized). See
// tests/data/clip/README.md for how they were made. The tolerance is relative to the largest
// value; what it allows was measured (see the README) and given headroom.
TEST(ClipLlamaCpp, EmbeddingsMatchLlamaCpp) {
  ThreadPool pool(2);
  for (const char* type : {"f32", "f16"}) {
    const std::string path = temp_path(std::string("clip-tiny-llamacpp-") + type);
    write_synthetic_mmproj(*find_clip_shape("clip-tiny"), 7, std::string(type) == "f32" ? TensorType::F32 : TensorType::F16,
                           path);
    auto clip = ClipModel::load(path);
    for (auto [w, h] : {std::pair{32, 32}, std::pair{40, 24}}) {
      const std::string ref_path = test::source_dir() + "/tests/data/clip/llamacpp-clip-tiny-seed7-" + type + "-" +
                                   std::to_string(w) + "x" + std::to_string(h) + ".f32";
      FILE* f = std::fopen(ref_path.c_str(), "rb");
      ASSERT_TRUE(f) << ref_path;
      std::vector<float> ref(static_cast<size_t>(clip->n_patches() * clip->n_embd_out()));
      const size_t got = std::fread(ref.data(), sizeof(float), ref.size() + 1, f);
      std::fclose(f);
      ASSERT_EQ(got, ref.size()) << ref_path;
      const std::vector<float> ours = clip->embed(test_image(w, h), pool);
      ASSERT_EQ(ours.size(), ref.size());
      double max_err = 0, max_ref = 0;
      for (size_t i = 0; i < ref.size(); ++i) {
        max_err = std::max(max_err, std::abs(static_cast<double>(ours[i]) - ref[i]));
        max_ref = std::max(max_ref, std::abs(static_cast<double>(ref[i])));
      }
      EXPECT_GT(max_ref, 0.1);
      EXPECT_LT(max_err / max_ref, 2e-3) << type << " " << w << "x" << h << ": max error " << max_err
                                                             << " of " << max_ref;
      std::printf("%s %dx%d: max |ours - llama.cpp| / max |llama.cpp| = %.2e\n", type, w, h, max_err / max_ref);
    }
    std::remove(path.c_str());
  }
}

TEST(ClipLoad, RefusesWhatIsNotLlava15) {
  const std::string path = temp_path("clip-bad");
  {
    GgufWriter w;
    w.set_bool("clip.has_vision_encoder", true);
    w.set_bool("clip.has_llava_projector", true);
    w.set_string("clip.projector_type", "ldp");
    w.write(path);
  }
  try {
    ClipModel::load(path);
    FAIL() << "an ldp projector loaded";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("ldp"), std::string::npos) << e.what();
  }
  {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.write(path);
  }
  EXPECT_THROW(ClipModel::load(path), FormatError);
  std::remove(path.c_str());
}
