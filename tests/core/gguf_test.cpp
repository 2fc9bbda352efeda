// GGUF reader: a real file, a round trip through the writer, and a corrupt-file suite.
#include "core/gguf.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/gguf_writer.h"
#include "test_paths.h"

using namespace citadel;

namespace {

std::vector<uint8_t> small_file() {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 2);
  w.set_f32("llama.rope.freq_base", 10000.0f);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  w.set_strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "hello"});
  w.set_f32s("tokenizer.ggml.scores", {0.0f, -1.5f, 2.25f});
  w.set_i32s("tokenizer.ggml.token_type", {2, 3, 1});
  std::vector<float> a(8 * 3);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(i);
  w.add_tensor("a", {8, 3}, TensorType::F32, a.data(), a.size() * 4);
  std::vector<float> b(32, 1.0f);
  w.add_tensor("b", {32}, TensorType::F32, b.data(), b.size() * 4);
  return w.to_bytes();
}

void expect_format_error(const std::vector<uint8_t>& bytes, const std::string& fragment) {
  try {
    GgufFile::parse(bytes.data(), bytes.size(), "bad.gguf");
    FAIL() << "expected a FormatError containing '" << fragment << "'";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// Offset of the first byte after the metadata of small_file(): the tensor infos start there.
size_t find_bytes(const std::vector<uint8_t>& hay, const std::string& needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
  return static_cast<size_t>(it - hay.begin());
}

}  // namespace

TEST(Gguf, RoundTripThroughWriter) {
  auto bytes = small_file();
  auto f = GgufFile::parse(bytes.data(), bytes.size());
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_EQ(f->get_int("llama.block_count", 0), 2);
  EXPECT_FLOAT_EQ(f->get_double("llama.rope.freq_base", 0), 10000.0);
  EXPECT_TRUE(f->get_bool("tokenizer.ggml.add_bos_token", false));
  EXPECT_EQ(f->find("tokenizer.ggml.tokens")->as_strings()[2], "hello");
  EXPECT_FLOAT_EQ(f->find("tokenizer.ggml.scores")->as_floats()[2], 2.25f);
  EXPECT_EQ(f->find("tokenizer.ggml.token_type")->as_ints()[1], 3);
  EXPECT_EQ(f->get_int("missing", 42), 42);
  EXPECT_THROW(f->get_int("general.architecture", 0), FormatError);
  EXPECT_THROW(f->require_string("missing.key"), FormatError);
  ASSERT_EQ(f->tensors().size(), 2u);
  const GgufTensorInfo* a = f->find_tensor("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{8, 3}));
  EXPECT_EQ(a->nbytes, 96u);
  EXPECT_EQ(static_cast<const float*>(a->data)[23], 23.0f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f->find_tensor("b")->data) % 32, reinterpret_cast<uintptr_t>(bytes.data()) % 32);
}

TEST(Gguf, RealModelFile) {
  std::string path = test::models_dir() + "/stories260K/stories260K-f32.gguf";
  REQUIRE_FILE(path);
  auto f = GgufFile::open(path);
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_EQ(f->get_int("llama.embedding_length", 0), 64);
  EXPECT_EQ(f->get_int("llama.block_count", 0), 5);
  EXPECT_EQ(f->find("tokenizer.ggml.tokens")->array_size(), 512u);
  const GgufTensorInfo* emb = f->find_tensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->shape, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(emb->type, TensorType::F32);
}

TEST(GgufCorrupt, EmptyAndBadMagic) {
  expect_format_error({}, "not a GGUF file");
  expect_format_error({'G', 'G', 'U', 'X', 3, 0, 0, 0}, "not a GGUF file");
}

TEST(GgufCorrupt, EveryTruncationIsAnError) {
  auto bytes = small_file();
  // Cutting the file anywhere (header, metadata, infos, data) must give a clear error.
  for (size_t cut = 0; cut < bytes.size(); cut += (cut < 400 ? 1 : 17)) {
    std::vector<uint8_t> part(bytes.begin(), bytes.begin() + cut);
    EXPECT_THROW(GgufFile::parse(part.data(), part.size()), FormatError) << "cut at " << cut;
  }
}

TEST(GgufCorrupt, UnsupportedVersion) {
  auto bytes = small_file();
  bytes[4] = 7;
  expect_format_error(bytes, "unsupported GGUF version 7");
}

TEST(GgufCorrupt, AbsurdCounts) {
  auto bytes = small_file();
  uint64_t huge = 1ull << 60;
  auto t = bytes;
  std::memcpy(&t[8], &huge, 8);
  expect_format_error(t, "tensor count");
  auto k = bytes;
  std::memcpy(&k[16], &huge, 8);
  expect_format_error(k, "metadata count");
}

TEST(GgufCorrupt, HugeStringLength) {
  auto bytes = small_file();
  uint64_t huge = 1ull << 40;
  std::memcpy(&bytes[24], &huge, 8);  // length of the first key
  expect_format_error(bytes, "absurd");
}

TEST(GgufCorrupt, HugeArrayLength) {
  auto bytes = small_file();
  size_t at = find_bytes(bytes, "tokenizer.ggml.tokens") + std::strlen("tokenizer.ggml.tokens") + 4 + 4;
  uint64_t huge = 1ull << 50;
  std::memcpy(&bytes[at], &huge, 8);
  expect_format_error(bytes, "exceeds the file");
}

TEST(GgufCorrupt, WrongTypes) {
  auto bytes = small_file();
  size_t at = find_bytes(bytes, "llama.block_count") + std::strlen("llama.block_count");
  uint32_t bad = 99;
  auto v = bytes;
  std::memcpy(&v[at], &bad, 4);
  expect_format_error(v, "unknown value type 99");
  // Tensor "a": name, n_dims, 2 dims, then type.
  size_t info = find_bytes(bytes, std::string("\x01\x00\x00\x00\x00\x00\x00\x00" "a", 9)) + 9;
  auto ty = bytes;
  std::memcpy(&ty[info + 4 + 16], &bad, 4);
  expect_format_error(ty, "unknown type id 99");
  auto dims = bytes;
  uint32_t five = 5;
  std::memcpy(&dims[info], &five, 4);
  expect_format_error(dims, "5 dimensions");
}

TEST(GgufCorrupt, OffsetPastEnd) {
  auto bytes = small_file();
  size_t info = find_bytes(bytes, std::string("\x01\x00\x00\x00\x00\x00\x00\x00" "a", 9)) + 9;
  uint64_t off = 1ull << 32;
  std::memcpy(&bytes[info + 4 + 16 + 4], &off, 8);
  expect_format_error(bytes, "past the end of the file");
  uint64_t misaligned = 4;
  std::memcpy(&bytes[info + 4 + 16 + 4], &misaligned, 8);
  expect_format_error(bytes, "not aligned");
}

TEST(GgufCorrupt, DimensionOverflow) {
  auto bytes = small_file();
  size_t info = find_bytes(bytes, std::string("\x01\x00\x00\x00\x00\x00\x00\x00" "a", 9)) + 9;
  uint64_t big = 1ull << 40;
  std::memcpy(&bytes[info + 4], &big, 8);
  std::memcpy(&bytes[info + 4 + 8], &big, 8);
  EXPECT_THROW(GgufFile::parse(bytes.data(), bytes.size()), FormatError);
}

TEST(GgufCorrupt, MissingFileIsAClearError) {
  try {
    GgufFile::open("/nonexistent/model.gguf");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }
}
