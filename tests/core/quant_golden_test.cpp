// Bit-exact agreement with ggml on golden vectors (tests/data/quant, see its README): our
// quantizers write ggml's bytes, our dequantization of ggml's bytes gives ggml's floats, and
// dot_row agrees with ggml's vec_dot against the activation ggml quantized.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/quant.h"
#include "test_paths.h"

namespace citadel {
namespace {

struct GoldenCase {
  uint32_t dist = 0;  // input distribution (README)
  std::vector<float> input;
  std::vector<uint8_t> bytes;      // ggml's quantize_row_*_ref(input)
  std::vector<float> dequant;      // ggml's dequantize_row_*(bytes)
  std::vector<float> activation;   // what ggml's vec_dot saw (its vec_dot_type, dequantized)
  float dot = 0;                   // ggml's vec_dot(bytes, activation)
};

class Reader {
 public:
  explicit Reader(std::string data) : data_(std::move(data)) {}
  template <class T>
  T get() {
    T v;
    take(&v, sizeof v);
    return v;
  }
  template <class T>
  std::vector<T> get_vec(size_t n) {
    std::vector<T> v(n);
    take(v.data(), n * sizeof(T));
    return v;
  }
  bool at_end() const { return pos_ == data_.size(); }

 private:
  void take(void* dst, size_t n) {
    if (pos_ + n > data_.size()) throw std::runtime_error("golden file truncated");
    std::memcpy(dst, data_.data() + pos_, n);
    pos_ += n;
  }
  std::string data_;
  size_t pos_ = 0;
};

std::vector<GoldenCase> load_golden(const std::string& name, TensorType type) {
  Reader r(test::read_file(test::source_dir() + "/tests/data/quant/" + name + ".bin"));
  if (r.get<uint32_t>() != 0x31475143u || r.get<uint32_t>() != 1) throw std::runtime_error("bad golden header");
  if (r.get<uint32_t>() != static_cast<uint32_t>(type)) throw std::runtime_error("golden type mismatch");
  std::vector<GoldenCase> cases(r.get<uint32_t>());
  for (GoldenCase& c : cases) {
    c.dist = r.get<uint32_t>();
    const uint32_t n = r.get<uint32_t>(), nbytes = r.get<uint32_t>();
    c.input = r.get_vec<float>(n);
    c.bytes = r.get_vec<uint8_t>(nbytes);
    c.dequant = r.get_vec<float>(n);
    c.activation = r.get_vec<float>(n);
    c.dot = r.get<float>();
  }
  if (!r.at_end()) throw std::runtime_error("trailing bytes in golden file");
  return cases;
}

// Index of the first value whose bits differ, or -1.
int64_t first_bit_difference(const std::vector<float>& a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return static_cast<int64_t>(i);
  return -1;
}

class QuantGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(QuantGolden, QuantizeGivesGgmlBytes) {
  const TensorType type = parse_type_name(GetParam());
  for (const GoldenCase& c : load_golden(GetParam(), type)) {
    std::vector<uint8_t> ours(c.bytes.size());
    quantize_row(type, c.input.data(), ours.data(), static_cast<int64_t>(c.input.size()));
    size_t diff = 0;
    while (diff < ours.size() && ours[diff] == c.bytes[diff]) ++diff;
    EXPECT_EQ(diff, ours.size()) << GetParam() << " distribution " << c.dist << ": first differing byte " << diff
                                 << " (block " << diff / type_traits(type).block_bytes << ")";
  }
}

TEST_P(QuantGolden, DequantizeOfGgmlBytesIsBitExact) {
  const TensorType type = parse_type_name(GetParam());
  for (const GoldenCase& c : load_golden(GetParam(), type)) {
    std::vector<float> ours(c.input.size());
    dequantize_row(type, c.bytes.data(), ours.data(), static_cast<int64_t>(ours.size()));
    const int64_t i = first_bit_difference(ours, c.dequant);
    EXPECT_EQ(i, -1) << GetParam() << " distribution " << c.dist << ": value " << i << " is "
                     << (i >= 0 ? ours[i] : 0) << ", ggml " << (i >= 0 ? c.dequant[i] : 0);
  }
}

TEST_P(QuantGolden, DotMatchesGgmlVecDot) {
  const TensorType type = parse_type_name(GetParam());
  for (const GoldenCase& c : load_golden(GetParam(), type)) {
    const int64_t n = static_cast<int64_t>(c.input.size());
    // The same sum, in another order: only rounding may differ.
    double scale = 0;
    for (int64_t i = 0; i < n; ++i) scale += std::fabs(static_cast<double>(c.dequant[i]) * c.activation[i]);
    if (!std::isfinite(scale) || !std::isfinite(c.dot)) continue;  // the special-values rows
    if (type == TensorType::Q4_1 || type == TensorType::Q5_1) {
      // ggml's Q8_1 activation carries its block sum as fp16, so ggml's min term m * sum(a) is
      // off by up to 2^-11 relative: allow that much per block.
      const size_t bb = type_traits(type).block_bytes;
      for (int64_t b = 0; b < n / 32; ++b) {
        uint16_t m;
        std::memcpy(&m, c.bytes.data() + b * bb + 2, 2);
        double sum_a = 0;
        for (int i = 0; i < 32; ++i) sum_a += c.activation[b * 32 + i];
        scale += std::fabs(fp16_to_fp32(m) * sum_a) * 0x1p-10 / 2e-6;
      }
    }
    const float ours = dot_row(type, c.bytes.data(), c.activation.data(), n);
    EXPECT_NEAR(ours, c.dot, 2e-6 * scale + 1e-30) << GetParam() << " distribution " << c.dist;
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, QuantGolden,
                         ::testing::Values("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_K", "q5_K",
                                           "q6_K"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace citadel
