// llama.cpp's tokenizer test vectors (../shared/tokenizers/tests): every id equal, no BOS, special
// tokens not parsed, and decode(encode(text)) == text.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/gguf.h"
#include "core/gguf_writer.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace citadel {
namespace {

struct Vector {
  std::string text;
  std::vector<int32_t> ids;
};

// Same reading as llama.cpp's test-tokenizer-0: texts separated by "\n__ggml_vocab_test__\n".
std::vector<Vector> read_vectors(const std::string& name) {
  const std::string dir = test::shared_dir() + "/tokenizers/tests/";
  const std::string inp = test::read_file(dir + name + ".inp");
  std::vector<std::string> texts;
  const std::string sep = "\n__ggml_vocab_test__\n";
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      texts.push_back(inp.substr(pos));
      break;
    }
    texts.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<Vector> out;
  std::istringstream lines(test::read_file(dir + name + ".out"));
  std::string line;
  for (size_t i = 0; std::getline(lines, line); ++i) {
    Vector v;
    v.text = i < texts.size() ? texts[i] : "";
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) v.ids.push_back(id);
    out.push_back(std::move(v));
  }
  EXPECT_EQ(out.size(), texts.size()) << name << ": .inp and .out disagree on the number of texts";
  return out;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += std::to_string(id) + " ";
  return s;
}

void check_vectors(const Tokenizer& tok, const std::string& name) {
  const auto vectors = read_vectors(name);
  ASSERT_FALSE(vectors.empty());
  size_t matched = 0, round_trips = 0;
  for (const auto& v : vectors) {
    const auto ids = tok.encode(v.text, /*add_bos=*/false, /*parse_special=*/false);
    EXPECT_EQ(show(ids), show(v.ids)) << name << " text: '" << v.text << "'";
    matched += ids == v.ids;
    const std::string back = tok.decode(ids);
    EXPECT_EQ(back, v.text) << name << " round trip";
    round_trips += back == v.text;
  }
  std::printf("[ vectors  ] %s: %zu/%zu ids matched, %zu/%zu round trips\n", name.c_str(), matched,
              vectors.size(), round_trips, vectors.size());
}

std::string tokenizers_dir() { return test::shared_dir() + "/tokenizers"; }

TEST(TokenizerVectors, LlamaSpmFromGguf) {
  const std::string path = tokenizers_dir() + "/gguf/ggml-vocab-llama-spm.gguf";
  REQUIRE_FILE(path);
  const auto tok = Tokenizer::from_gguf(*GgufFile::open(path));
  EXPECT_EQ(tok->model_name(), "llama");
  check_vectors(*tok, "llama-spm");
}

TEST(TokenizerVectors, FalconFromGguf) {
  const std::string path = tokenizers_dir() + "/gguf/ggml-vocab-falcon.gguf";
  REQUIRE_FILE(path);
  const auto tok = Tokenizer::from_gguf(*GgufFile::open(path));
  EXPECT_EQ(tok->model_name(), "gpt2");
  check_vectors(*tok, "falcon");
}

TEST(TokenizerVectors, Llama3FromTokenizerJson) {
  const std::string dir = tokenizers_dir() + "/llama3";
  REQUIRE_FILE(dir + "/tokenizer.json");
  const auto tok = Tokenizer::from_hf_files(dir + "/tokenizer.json", dir + "/tokenizer_config.json");
  check_vectors(*tok, "llama-bpe");
}

TEST(TokenizerVectors, Qwen2FromTokenizerJson) {
  const std::string dir = tokenizers_dir() + "/qwen3";
  REQUIRE_FILE(dir + "/tokenizer.json");
  const auto tok = Tokenizer::from_hf_files(dir + "/tokenizer.json", dir + "/tokenizer_config.json");
  check_vectors(*tok, "qwen2");
}

// The GGUF a converter would write for a Hugging Face BPE tokenizer: tokens, types, merges, pre.
std::vector<uint8_t> vocab_gguf_from_tokenizer_json(const std::string& path, const std::string& pre) {
  const auto root = nlohmann::json::parse(test::read_file(path));
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  auto put = [&](size_t id, const std::string& text, int32_t type) {
    if (id >= tokens.size()) tokens.resize(id + 1), types.resize(id + 1, 5);
    tokens[id] = text;
    types[id] = type;
  };
  for (const auto& [text, id] : root["model"]["vocab"].items()) put(id.get<size_t>(), text, 1);
  for (const auto& t : root["added_tokens"]) put(t["id"].get<size_t>(), t["content"], t["special"].get<bool>() ? 3 : 4);
  std::vector<std::string> merges;
  for (const auto& m : root["model"]["merges"])
    merges.push_back(m.is_string() ? m.get<std::string>() : m[0].get<std::string>() + " " + m[1].get<std::string>());
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", pre);
  w.set_strings("tokenizer.ggml.tokens", tokens);
  w.set_i32s("tokenizer.ggml.token_type", types);
  w.set_strings("tokenizer.ggml.merges", merges);
  return w.to_bytes();
}

TEST(TokenizerVectors, Qwen2FromGguf) {
  const std::string path = tokenizers_dir() + "/qwen3/tokenizer.json";
  REQUIRE_FILE(path);
  const auto bytes = vocab_gguf_from_tokenizer_json(path, "qwen2");
  const auto tok = Tokenizer::from_gguf(*GgufFile::parse(bytes.data(), bytes.size()));
  EXPECT_EQ(tok->pre_tokenizer_name(), "qwen2");
  EXPECT_FALSE(tok->adds_bos());
  check_vectors(*tok, "qwen2");
}

TEST(TokenizerVectors, Llama3FromGguf) {
  const std::string path = tokenizers_dir() + "/llama3/tokenizer.json";
  REQUIRE_FILE(path);
  const auto bytes = vocab_gguf_from_tokenizer_json(path, "llama-bpe");
  const auto tok = Tokenizer::from_gguf(*GgufFile::parse(bytes.data(), bytes.size()));
  EXPECT_TRUE(tok->is_end_of_generation(tok->token_id("<|eot_id|>")));
  check_vectors(*tok, "llama-bpe");
}

TEST(TokenizerVectors, Stories260KGguf) {
  const std::string path = test::models_dir() + "/stories260K/stories260K-f32.gguf";
  REQUIRE_FILE(path);
  const auto tok = Tokenizer::from_gguf(*GgufFile::open(path));
  EXPECT_EQ(tok->n_vocab(), 512);
  EXPECT_EQ(tok->encode("Once upon a time", true), (std::vector<int32_t>{1, 403, 407, 261, 378}));
  EXPECT_EQ(tok->decode(tok->encode("Once upon a time", true)), "Once upon a time");
}

}  // namespace
}  // namespace citadel
