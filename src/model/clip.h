// The vision side of LLaVA-1.5: a CLIP ViT encoder and the 2-layer MLP projector, read from
// llama.cpp's mmproj GGUF layout (clip.* keys, v.* and mm.* tensors), so the mmproj files people
// already have load as they are. An image becomes n_patches() rows of n_embd_out() floats that
// stand in the text model's token stream where the image was.
//
//   auto clip = ClipModel::load("mmproj-model-f16.gguf");
//   std::vector<float> rows = clip->embed(image, pool);   // n_patches() x n_embd_out()
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "media/image.h"

namespace citadel {

class GgufFile;

struct ClipHParams {
  int64_t image_size = 0, patch_size = 0;  // the encoder's square input, and its patches
  int64_t n_embd = 0, n_ff = 0, n_head = 0;
  int64_t n_layer = 0;      // blocks in the file
  int64_t n_layer_run = 0;  // blocks that feed the projector (llama.cpp: all but the last)
  int64_t n_proj = 0;       // the projector's output: the text model's n_embd
  float eps = 1e-5f;
  float image_mean[3] = {0, 0, 0}, image_std[3] = {1, 1, 1};
  bool use_gelu = false;    // else quick GELU, x * sigmoid(1.702 x), as OpenAI's CLIP
  int64_t n_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
};

struct ClipLayer {
  Tensor ln1_w, ln1_b, ln2_w, ln2_b;
  Tensor q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b;
  Tensor ff1_w, ff1_b;  // n_embd -> n_ff: named ffn_down in the file (llama.cpp's converter swaps them)
  Tensor ff2_w, ff2_b;  // n_ff -> n_embd: named ffn_up
};

struct ClipWeights {
  Tensor class_embd;       // n_embd (optional)
  Tensor patch_embd;       // the patch convolution as a matrix: n_embd rows of 3 * P * P (c, y, x)
  Tensor patch_bias;       // optional
  Tensor pos_embd;         // n_positions x n_embd
  Tensor pre_ln_w, pre_ln_b, post_ln_w, post_ln_b;  // optional
  std::vector<ClipLayer> layers;
  Tensor mm0_w, mm0_b, mm2_w, mm2_b;  // projector: linear, GELU, linear
};

class ClipModel {
 public:
  // Throws FormatError naming the problem: not an mmproj file, a projector other than LLaVA's
  // MLP (LLaVA-1.6 anyres, MiniCPM-V, Qwen2-VL, ...), a missing or misshaped tensor.
  static std::unique_ptr<ClipModel> load(const std::string& path);
  ~ClipModel();

  const ClipHParams& hparams() const { return hp_; }
  int64_t n_patches() const { return hp_.n_patches(); }
  int64_t n_embd_out() const { return hp_.n_proj; }

  // llama.cpp's LLaVA-1.5 preprocessing: pad to a square with LLaVA's background colour (the
  // image at the top left), linear resize to image_size (rounded to 8 bits), then (v/255 - mean)
  // / std per channel. Returns 3 planes of image_size^2 floats (R, G, B).
  std::vector<float> preprocess(const Image& image) const;
  // The encoder over preprocessed pixels, then the projector: n_patches() x n_embd_out() floats.
  std::vector<float> encode(const std::vector<float>& pixels, ThreadPool& pool) const;
  std::vector<float> embed(const Image& image, ThreadPool& pool) const { return encode(preprocess(image), pool); }

 private:
  ClipModel() = default;
  std::unique_ptr<GgufFile> file_;
  ClipHParams hp_;
  ClipWeights w_;
};

}  // namespace citadel
