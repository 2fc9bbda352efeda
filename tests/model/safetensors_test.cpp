// safetensors reader: round trip with the writer, shards with an index, and a corrupt-file suite
// (every bad length, offset, shape and dtype is a FormatError naming the problem, never a crash).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/safetensors.h"
#include "model/safetensors_writer.h"

using namespace citadel;

namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/citadel-st-XXXXXX";
  return ::mkdtemp(tmpl);
}

std::vector<uint8_t> with_header(const std::string& header, size_t data_bytes, uint64_t declared = ~0ull) {
  std::vector<uint8_t> out(8);
  const uint64_t len = declared == ~0ull ? header.size() : declared;
  std::memcpy(out.data(), &len, 8);
  out.insert(out.end(), header.begin(), header.end());
  out.resize(out.size() + data_bytes, 0);
  return out;
}

std::string error_of(const std::vector<uint8_t>& bytes) {
  try {
    SafetensorsFile::parse(bytes.data(), bytes.size(), "test");
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Safetensors, RoundTripThroughTheWriter) {
  SafetensorsWriter w;
  const float a[6] = {1, 2, 3, 4, 5, 6};
  const uint16_t b[4] = {0x3c00, 0x4000, 0x4200, 0x4400};
  w.add("a", "F32", {2, 3}, a, sizeof a);
  w.add("b.bf", "BF16", {4}, b, sizeof b);
  w.add("ids", "I64", {0}, nullptr, 0);
  w.set_metadata("format", "pt");
  const auto bytes = w.to_bytes();
  auto f = SafetensorsFile::parse(bytes.data(), bytes.size());
  ASSERT_EQ(f->tensors().size(), 3u);
  const SafetensorsTensor* t = f->find("a");
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->computable);
  EXPECT_EQ(t->type, TensorType::F32);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(0, std::memcmp(t->data, a, sizeof a));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % 8, 0u);  // the writer pads the header
  EXPECT_EQ(f->find("b.bf")->type, TensorType::BF16);
  EXPECT_FALSE(f->find("ids")->computable);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->find("missing"), nullptr);
}

TEST(Safetensors, ShardedFolderWithIndex) {
  const std::string dir = temp_dir();
  SafetensorsWriter w;
  std::vector<float> v(256, 1.0f);
  for (int i = 0; i < 5; ++i) w.add("t" + std::to_string(i), "F32", {16, 16}, v.data(), v.size() * 4);
  w.write_sharded(dir, 2048);  // two tensors per shard
  std::ifstream index(dir + "/model.safetensors.index.json");
  ASSERT_TRUE(index.good());
  auto m = SafetensorsModel::open_dir(dir);
  EXPECT_EQ(m->files().size(), 3u);
  EXPECT_EQ(m->tensors().size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_NE(m->find("t" + std::to_string(i)), nullptr);

  // An index naming the wrong shard is refused.
  auto j = nlohmann::json::parse(std::ifstream(dir + "/model.safetensors.index.json"));
  j["weight_map"]["t0"] = j["weight_map"]["t4"];
  std::ofstream(dir + "/model.safetensors.index.json") << j.dump();
  EXPECT_THROW(SafetensorsModel::open_dir(dir), FormatError);
  j["weight_map"]["t0"] = "../escape.safetensors";
  std::ofstream(dir + "/model.safetensors.index.json") << j.dump();
  EXPECT_THROW(SafetensorsModel::open_dir(dir), FormatError);
  std::system(("rm -rf " + dir).c_str());
}

TEST(Safetensors, SingleFileAndUnindexedShards) {
  const std::string dir = temp_dir();
  SafetensorsWriter w;
  const float x[2] = {1, 2};
  w.add("x", "F32", {2}, x, sizeof x);
  w.write_sharded(dir, 1 << 20);
  EXPECT_EQ(SafetensorsModel::open_dir(dir)->tensors().size(), 1u);
  // A second file holding the same name is refused.
  std::system(("cp " + dir + "/model.safetensors " + dir + "/extra.safetensors && mv " + dir + "/model.safetensors " +
               dir + "/a.safetensors").c_str());
  EXPECT_THROW(SafetensorsModel::open_dir(dir), FormatError);
  std::system(("rm -rf " + dir).c_str());
  EXPECT_ANY_THROW(SafetensorsModel::open_dir("/nonexistent/dir"));
}

TEST(Safetensors, CorruptFiles) {
  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
    const char* expect;  // substring of the error
  };
  const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const Case cases[] = {
      {"empty", {}, "too short"},
      {"short", {1, 2, 3}, "too short"},
      {"header past end", with_header("{}", 0, 1000), "past the end"},
      {"huge header", with_header("{}", 0, 1ull << 40), "exceeds"},
      {"bad json", with_header("{\"a\":", 0), "malformed JSON"},
      {"not object", with_header("[1,2]", 0), "not a JSON object"},
      {"entry not object", with_header(R"({"a":3})", 0), "not an object"},
      {"no dtype", with_header(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", 4), "dtype"},
      {"unknown dtype", with_header(R"({"a":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}})", 4), "unknown dtype"},
      {"negative dim", with_header(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), "non-negative"},
      {"float dim", with_header(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4), "non-negative"},
      {"huge shape", with_header(R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})", 4), "too large"},
      {"too many dims", with_header(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})", 4), "dimensions"},
      {"offsets not pair", with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4), "data_offsets"},
      {"begin > end", with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8), "begin"},
      {"past data", with_header("{" + ok_entry + "}", 4), "past the data section"},
      {"size mismatch", with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "need"},
      {"overflowing offsets", with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]}})", 8), "past the data"},
      {"overlap", with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12), "overlap"},
      {"bad metadata", with_header(R"({"__metadata__":{"k":1}})", 0), "__metadata__"},
  };
  for (const Case& c : cases) {
    const std::string err = error_of(c.bytes);
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.what << ": got '" << err << "'";
  }
  EXPECT_EQ(error_of(with_header("{" + ok_entry + "}", 8)), "");
}

TEST(Safetensors, TruncationsNeverCrash) {
  SafetensorsWriter w;
  std::vector<float> v(64, 0.5f);
  w.add("a", "F32", {8, 8}, v.data(), 256);
  w.add("b", "F16", {8}, v.data(), 16);
  const auto bytes = w.to_bytes();
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    EXPECT_THROW(SafetensorsFile::parse(cut.data(), cut.size()), FormatError) << n << " bytes";
  }
}
