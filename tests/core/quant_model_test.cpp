// The quantized stories260K files (made by llama-quantize from the f32 file): every tensor
// dequantizes to within its format's error of the f32 weights, and requantizing the f32 weights
// with our reference quantizers reproduces the file's bytes exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/gguf.h"
#include "core/quant.h"
#include "test_paths.h"

namespace citadel {
namespace {

std::string model_path(const std::string& name) { return test::models_dir() + "/stories260K/" + name; }

// Largest relative RMS error of a tensor in each format (4-bit formats lose most).
double rel_rms_limit(TensorType type) {
  switch (type) {
    case TensorType::F32: return 0;
    case TensorType::F16: return 1e-3;
    case TensorType::Q8_0: return 0.01;
    case TensorType::Q6_K: return 0.03;
    case TensorType::Q5_0: case TensorType::Q5_1: case TensorType::Q5_K: return 0.06;
    default: return 0.12;
  }
}

void check_against_f32(const std::string& quantized_name) {
  const std::string f32_path = model_path("stories260K-f32.gguf"), q_path = model_path(quantized_name);
  REQUIRE_FILE(f32_path);
  REQUIRE_FILE(q_path);
  auto ref = GgufFile::open(f32_path);
  auto file = GgufFile::open(q_path);
  ASSERT_EQ(file->tensors().size(), ref->tensors().size());
  int quantized = 0;
  for (const GgufTensorInfo& t : file->tensors()) {
    SCOPED_TRACE(quantized_name + ": " + t.name + " (" + type_name(t.type) + ")");
    const GgufTensorInfo* r = ref->find_tensor(t.name);
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(r->type, TensorType::F32);
    ASSERT_EQ(r->shape, t.shape);
    ASSERT_TRUE(quant_supported(t.type));
    const int64_t cols = t.shape.at(0), rows = t.n_elements() / cols;
    const size_t rb = row_bytes(t.type, cols);
    ASSERT_EQ(t.nbytes, rb * static_cast<size_t>(rows));
    const auto* w = static_cast<const float*>(r->data);
    const auto* q = static_cast<const uint8_t*>(t.data);

    std::vector<uint8_t> ours(rb);
    std::vector<float> deq(cols);
    double err2 = 0, w2 = 0;
    for (int64_t i = 0; i < rows; ++i) {
      quantize_row(t.type, w + i * cols, ours.data(), cols);
      ASSERT_EQ(std::memcmp(ours.data(), q + i * rb, rb), 0) << "row " << i << " differs from llama-quantize";
      dequantize_row(t.type, q + i * rb, deq.data(), cols);
      for (int64_t j = 0; j < cols; ++j) {
        const double e = static_cast<double>(deq[j]) - w[i * cols + j];
        err2 += e * e;
        w2 += static_cast<double>(w[i * cols + j]) * w[i * cols + j];
      }
    }
    EXPECT_LE(std::sqrt(err2), rel_rms_limit(t.type) * std::sqrt(w2));
    if (t.type != TensorType::F32) ++quantized;
  }
  EXPECT_GT(quantized, 0);
}

TEST(QuantModel, Q8_0FileMatchesF32Weights) { check_against_f32("stories260K-q8_0-mix.gguf"); }
TEST(QuantModel, Q4_0FileMatchesF32Weights) { check_against_f32("stories260K-q4_0-mix.gguf"); }

}  // namespace
}  // namespace citadel
