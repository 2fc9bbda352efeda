// Hand-written tokenizer cases: special tokens, BOS rules, byte fallback, streaming decode, invalid
// UTF-8, empty and very long input, pre-tokenizer presets, malformed tokenizer.json files.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <fstream>
#include <map>

#include "core/gguf.h"
#include "core/gguf_writer.h"
#include "test_paths.h"
#include "tokenizer/nfc.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/pre_tokenizer_presets.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace citadel {
namespace {

using Ids = std::vector<int32_t>;

std::string tok_dir() { return test::shared_dir() + "/tokenizers"; }

// Loaded once per test binary: the real vocabularies take a second each to read.
const Tokenizer* cached(const std::string& key, std::unique_ptr<Tokenizer> (*load)(const std::string&)) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[key];
  if (!slot) slot = load(key);
  return slot.get();
}

std::unique_ptr<Tokenizer> read_json_tokenizer(const std::string& name) {
  const std::string dir = tok_dir() + "/" + name;
  return Tokenizer::from_hf_files(dir + "/tokenizer.json", dir + "/tokenizer_config.json");
}
const Tokenizer* load_json(const std::string& name) { return cached("json:" + name, [](const std::string& k) {
  return read_json_tokenizer(k.substr(5)); }); }

#define REQUIRE_JSON(name) REQUIRE_FILE(tok_dir() + "/" name "/tokenizer.json")
#define REQUIRE_GGUF(name) REQUIRE_FILE(tok_dir() + "/gguf/ggml-vocab-" name ".gguf")

const Tokenizer* load_gguf(const std::string& name) {
  return cached("gguf:" + name, [](const std::string& k) {
    return Tokenizer::from_gguf(*GgufFile::open(tok_dir() + "/gguf/ggml-vocab-" + k.substr(5) + ".gguf"));
  });
}

// ---- special tokens -------------------------------------------------------------------------

TEST(SpecialTokens, ControlTokensOnlyWhenAsked) {
  REQUIRE_JSON("qwen3");
  const auto tok = load_json("qwen3");
  const std::string text = "<|im_start|>user\nhi<|im_end|>";
  EXPECT_EQ(tok->encode(text, false, /*parse_special=*/true), (Ids{151644, 872, 198, 6023, 151645}));
  const Ids plain = tok->encode(text, false, /*parse_special=*/false);
  for (int32_t id : plain) EXPECT_FALSE(tok->is_control(id)) << id;
  EXPECT_EQ(tok->decode(plain), text);
  EXPECT_EQ(tok->decode(tok->encode(text, false, true), /*render_special=*/true), text);
  EXPECT_EQ(tok->decode(tok->encode(text, false, true)), "user\nhi");
}

TEST(SpecialTokens, UserDefinedAddedTokensAlwaysMatch) {
  REQUIRE_JSON("qwen3");
  const auto tok = load_json("qwen3");
  const int32_t think = tok->token_id("<think>");
  ASSERT_GE(think, 0);
  EXPECT_FALSE(tok->is_control(think));
  const Ids ids = tok->encode("<think>hi</think>", false, false);
  EXPECT_EQ(ids, (Ids{think, 6023, tok->token_id("</think>")}));
  EXPECT_EQ(tok->decode(ids), "<think>hi</think>");
}

TEST(SpecialTokens, EndOfGenerationIds) {
  REQUIRE_JSON("llama3");
  const auto llama3 = load_json("llama3");
  EXPECT_EQ(llama3->bos_id(), 128000);
  EXPECT_EQ(llama3->eos_id(), 128001);
  EXPECT_TRUE(llama3->is_end_of_generation(llama3->token_id("<|eot_id|>")));
  EXPECT_TRUE(llama3->is_end_of_generation(128001));
  EXPECT_FALSE(llama3->is_end_of_generation(9906));
  REQUIRE_JSON("qwen3");
  const auto qwen = load_json("qwen3");
  EXPECT_EQ(qwen->eos_id(), qwen->token_id("<|im_end|>"));
  EXPECT_TRUE(qwen->is_end_of_generation(qwen->token_id("<|endoftext|>")));
}

// ---- BOS / EOS rules ------------------------------------------------------------------------

TEST(BosRules, FromMetadataAndConfig) {
  REQUIRE_GGUF("llama-spm");
  const auto spm = load_gguf("llama-spm");
  EXPECT_TRUE(spm->adds_bos());
  EXPECT_EQ(spm->encode("Hello", true).front(), 1);
  EXPECT_EQ(spm->encode("Hello", false).front(), 15043);
  // A template that already starts with BOS does not get a second one.
  EXPECT_EQ(spm->encode("<s>Hello", true, true), (Ids{1, 15043}));
  EXPECT_EQ(spm->encode("<s><s>Hello", true, true), (Ids{1, 1, 15043}));  // only the added one is dropped
  EXPECT_EQ(spm->encode("<s>Hello", false, true), (Ids{1, 15043}));

  const auto falcon = load_gguf("falcon");  // gpt2 + "falcon": no add_bos_token, no BOS by default
  EXPECT_FALSE(falcon->adds_bos());
  EXPECT_EQ(falcon->encode("Hello", true), falcon->encode("Hello", false));

  REQUIRE_JSON("qwen3");
  EXPECT_FALSE(load_json("qwen3")->adds_bos());  // add_bos_token: false
  EXPECT_EQ(load_json("llama3")->encode("Hello", true), (Ids{128000, 9906}));
}

TEST(BosRules, EmptyText) {
  REQUIRE_JSON("llama3");
  const auto llama3 = load_json("llama3");
  EXPECT_TRUE(llama3->encode("", false).empty());
  EXPECT_EQ(llama3->encode("", true), (Ids{128000}));
  EXPECT_EQ(llama3->decode({}), "");
  REQUIRE_GGUF("llama-spm");
  const auto spm = load_gguf("llama-spm");
  EXPECT_TRUE(spm->encode("", false).empty());
  EXPECT_EQ(spm->encode("", true), (Ids{1}));
}

// ---- byte fallback, invalid UTF-8 -----------------------------------------------------------

TEST(ByteFallback, SpmSpellsUnknownCharactersAsBytes) {
  REQUIRE_GGUF("llama-spm");
  const auto tok = load_gguf("llama-spm");
  // U+1F999 is not in the Llama 2 vocabulary: "▁" then <0xF0> <0x9F> <0xA6> <0x99> (byte + 3).
  const Ids ids = tok->encode("\xF0\x9F\xA6\x99", false);
  EXPECT_EQ(ids, (Ids{29871, 243, 162, 169, 156}));
  EXPECT_EQ(tok->token_to_piece(243), "\xF0");
  EXPECT_EQ(tok->decode(ids), "\xF0\x9F\xA6\x99");
}

TEST(InvalidUtf8, KeptByteForByte) {
  const std::string text = "abc\xFF\xFE" "def \xC3 \xE2\x82 x\xF0\x9F\xA6";  // stray, truncated sequences
  for (const char* name : {"llama3", "qwen3"}) {
    REQUIRE_FILE(tok_dir() + "/" + name + "/tokenizer.json");
    const auto tok = load_json(name);
    EXPECT_EQ(tok->decode(tok->encode(text, false)), text) << name;
  }
  REQUIRE_GGUF("llama-spm");
  const auto spm = load_gguf("llama-spm");
  EXPECT_EQ(spm->decode(spm->encode(text, false)), text);
  // Falcon's vocabulary has no tokens for the bytes 0xFE/0xFF (never in UTF-8): they are dropped, as
  // Hugging Face drops them; everything else survives.
  const auto falcon = load_gguf("falcon");
  EXPECT_EQ(falcon->decode(falcon->encode(text, false)), "abcdef \xC3 \xE2\x82 x\xF0\x9F\xA6");
}

// ---- streaming decode -----------------------------------------------------------------------

TEST(Utf8Stream, HoldsBackIncompleteCharacters) {
  Utf8StreamDecoder d;
  const std::string text = "h\xC3\xA9\xF0\x9F\xA6\x99!";  // "hé🦙!"
  std::string out;
  std::vector<std::string> outputs;
  for (char c : text) {
    outputs.push_back(d.push(std::string(1, c)));
    out += outputs.back();
  }
  out += d.flush();
  EXPECT_EQ(out, text);
  EXPECT_EQ(outputs[1], "");            // first byte of é
  EXPECT_EQ(outputs[2], "\xC3\xA9");    // é complete
  EXPECT_EQ(outputs[5], "");            // 3 of 4 bytes of the emoji
  EXPECT_EQ(outputs[6], "\xF0\x9F\xA6\x99");
}

TEST(Utf8Stream, InvalidBytesBecomeReplacementCharacters) {
  Utf8StreamDecoder d;
  EXPECT_EQ(d.push("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(d.push("\xE2\x82"), "");
  EXPECT_EQ(d.push("x"), "\xEF\xBF\xBDx");  // the cut-short character, then x
  EXPECT_EQ(d.push("\xF0\x9F"), "");
  EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(d.flush(), "");
}

TEST(Utf8Stream, TokenPiecesOfRealVocabularies) {
  REQUIRE_JSON("llama3");
  const auto tok = load_json("llama3");
  const std::string text = "Emoji 😶‍🌫️ and Khmer កាន់តែពិសេស and Chinese 我想在apple工作";
  Utf8StreamDecoder d;
  std::string out;
  for (int32_t id : tok->encode(text, false)) {
    const std::string part = d.push(tok->token_to_piece(id));
    EXPECT_TRUE(utf8::is_valid(part));
    out += part;
  }
  out += d.flush();
  EXPECT_EQ(out, text);
}

// ---- long input -----------------------------------------------------------------------------

TEST(LongInput, EncodesQuicklyAndRoundTrips) {
  REQUIRE_JSON("qwen3");
  const auto tok = load_json("qwen3");
  std::string text;
  while (text.size() < 300000) text += "The quick brown fox, 1234567 times; ünïcödé 漢字 ";
  text += std::string(100000, 'a') + std::string(50000, ' ') + "\n";
  const auto start = std::chrono::steady_clock::now();
  const Ids ids = tok->encode(text, false);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 20.0);
  EXPECT_EQ(tok->decode(ids), text);

  REQUIRE_GGUF("llama-spm");
  const auto spm = load_gguf("llama-spm");
  const std::string spm_text = text.substr(0, 100000);
  EXPECT_EQ(spm->decode(spm->encode(spm_text, false)), spm_text);
}

// ---- pre-tokenizers -------------------------------------------------------------------------

std::vector<std::string> split_with(const std::vector<std::string>& regexes, const std::string& text) {
  PreTokenizer pre;
  for (const auto& r : regexes) pre.add_regex(r);
  std::vector<std::string> out;
  for (auto w : pre.split(text)) out.emplace_back(w);
  return out;
}

TEST(PreTokenizers, Llama3Words) {
  const auto words = split_with(preset_for_gguf_pre("llama3").regexes, "Hello, y'all! 12345   x\n\n");
  EXPECT_EQ(words, (std::vector<std::string>{"Hello", ",", " y", "'all", "!", " ", "123", "45", "  ", " x", "\n\n"}));
}

TEST(PreTokenizers, EveryPresetCompilesAndKeepsAllText) {
  const std::string text = "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～ \t\n  3333  'D  ---===  Ελληνικά  \xE2\x96\x81";
  for (const char* name : {"default", "llama3", "llama-bpe", "dbrx", "smaug-bpe", "deepseek-llm", "deepseek-coder",
                           "deepseek-v3", "falcon", "mpt", "starcoder", "gpt-2", "refact", "command-r", "qwen2",
                           "qwen35", "stablelm2", "olmo", "poro-chat", "chatglm-bpe", "viking", "jais", "tekken",
                           "smollm", "codeshell", "bloom", "gpt3-finnish", "exaone", "chameleon", "minerva-7b",
                           "gpt-4o", "llama4", "seed-coder", "bailingmoe", "superbpe", "deepseek-r1-qwen"}) {
    std::vector<std::string> words;
    ASSERT_NO_THROW(words = split_with(preset_for_gguf_pre(name).regexes, text)) << name;
    std::string joined;
    for (const auto& w : words) joined += w;
    EXPECT_EQ(joined, text) << name;
  }
  EXPECT_THROW(preset_for_gguf_pre("no-such-pre"), std::invalid_argument);
}

TEST(PreTokenizers, BehaviorsAndBadRegex) {
  PreTokenizer removed;
  removed.add_regex(R"(\s+)", SplitBehavior::kRemoved);
  std::vector<std::string_view> words = removed.split("a  b c");
  EXPECT_EQ(words, (std::vector<std::string_view>{"a", "b", "c"}));
  PreTokenizer next;
  next.add_regex("-", SplitBehavior::kMergedWithNext);
  EXPECT_EQ(next.split("a-b-c"), (std::vector<std::string_view>{"a", "-b", "-c"}));
  PreTokenizer bad;
  EXPECT_THROW(bad.add_regex("(unclosed"), std::invalid_argument);
}

// ---- NFC (Qwen's tokenizer.json normalizer) -------------------------------------------------

TEST(Nfc, MatchesUnicodeReference) {
  // Expected values from Python's unicodedata.normalize("NFC", ...): reordering of marks, Hangul,
  // singletons (U+212B, U+2126), composition exclusions (U+0958), blocked marks.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"e\u0301", "\u00E9"},
      {"a\u0323\u0302", "\u1EAD"},
      {"\u1100\u1161\u11A8", "\uAC01"},
      {"A\u030A\u0301", "\u01FA"},
      {"o\u0308\u0304 \u212B \u2126 K", "\u022B \u00C5 \u03A9 K"},
      {"\u0958 \u1E9B\u0323", "\u0915\u093C \u1E9B\u0323"},
      {"q\u0307\u0323", "q\u0323\u0307"},
      {"\uAC00\uAC01\u1100\u1161", "\uAC00\uAC01\uAC00"},
      {"\u00E9\u0301", "\u00E9\u0301"},
      {"\u30CF\u0F72U\u093C", "\u30CF\u0F72U\u093C"},
      {"\u2126\u30CFu\u309Aa\u2126\u0308\u3099\u0302\u0300", "\u03A9\u30CFu\u309Aa\u03A9\u3099\u0308\u0302\u0300"},
      {"\u2126\u0F72\u3099\u2126\u1100K\u0302K\u0F71\u0915au", "\u03A9\u3099\u0F72\u03A9\u1100K\u0302K\u0F71\u0915au"},
      {"\u30CFi\u031B", "\u30CFi\u031B"},
      {"\u0323", "\u0323"},
      {"\u309A\u0915\u11A8\u1100\u304B\uAC00U\u093C", "\u309A\u0915\u11A8\u1100\u304B\uAC00U\u093C"},
      {"iU", "iU"},
      {"\u0301\u0308\u11A8\u031B\u1161\u0F73\u0915\u304B", "\u0301\u0308\u11A8\u031B\u1161\u0F71\u0F72\u0915\u304B"},
      {"\u0F72\u30CF\u1161\u30CF\u0302\u05B0", "\u0F72\u30CF\u1161\u30CF\u05B0\u0302"},
      {"e\u0323\u309Ak\u0345\u0F72\u304B\u304BE\u0301\u304B", "\u1EB9\u309Ak\u0F72\u0345\u304B\u304B\u00C9\u304B"},
      {"\u0327Ou\u2126\u2126", "\u0327Ou\u03A9\u03A9"},
      {"\u0591u", "\u0591u"},
      {"Ke\u0327\u11A8\u1161Oi", "K\u0229\u11A8\u1161Oi"},
      {"i\u0915\u30CF\u05B0\u3099\u0323\u0F73\u0303i\u031B", "i\u0915\u30D0\u05B0\u0F71\u0F72\u0323\u0303i\u031B"},
      {"u", "u"},
      {"\u309A\u0F72", "\u309A\u0F72"},
      {"\u0300", "\u0300"},
      {"\u0327\u0308Ki\u05B0\u0345\u093C", "\u0327\u0308Ki\u093C\u05B0\u0345"},
      {"\u0915\u0915\u212B", "\u0915\u0915\u00C5"},
      {"\u0915\u309A\u3099E\u0F73\u0323\u11A8\u0303\u031B", "\u0915\u309A\u3099\u1EB8\u0F71\u0F72\u11A8\u031B\u0303"},
      {"\u0308\u0F71\u031B\u3099\u05B0a\u1161", "\u3099\u05B0\u0F71\u031B\u0308a\u1161"},
      {"\u0345e\u0915\u30CFUo\u05B0\u212B\u0591\u0591", "\u0345e\u0915\u30CFUo\u05B0\u00C5\u0591\u0591"},
      {"\u0323\u1E9Be\u30CFoe\u093C\u0308\u212B\u031B", "\u0323\u1E9Be\u30CFo\u00EB\u093C\u00C5\u031B"},
      {"\u309A\u0345 \u093C \u0345\u093C\u309A\u0308\u031B", "\u309A\u0345 \u093C \u093C\u309A\u031B\u0308\u0345"},
      {"Ee\u304BU\u031B\u0F73\u0302", "Ee\u304B\u01AF\u0F71\u0F72\u0302"},
      {"\u0323\u0303\u0345 \u11A8EE\u309A\u0345\u05B0\u0302", "\u0323\u0303\u0345 \u11A8E\u00CA\u309A\u05B0\u0345"},
      {"kA\u05B0\u0301\u304B\uAC00\u0323\u0302", "k\u00C1\u05B0\u304B\uAC00\u0323\u0302"},
      {"i\u0F71", "i\u0F71"},
      {"\u0345\u304B \u0323", "\u0345\u304B \u0323"},
      {"A\u0591\u30CFU\u1161\u0327", "A\u0591\u30CFU\u1161\u0327"},
      {"\u0323\u212B\u0591\u1161\u0327\u1161\u304B\u1161i", "\u0323\u00C5\u0591\u1161\u0327\u1161\u304B\u1161i"},
      {"K\u0300a\u2126\u0F73\u11A8\u3099", "K\u0300a\u03A9\u0F71\u0F72\u11A8\u3099"},
      {"\u0302i\u212B\u0F71\u0327\u0F72\u05B0\u0302u\u30CF\u0327O", "\u0302i\u00C5\u05B0\u0F71\u0F72\u0327\u0302u\u30CF\u0327O"},
      {"ii\u0F73\u0300", "i\u00EC\u0F71\u0F72"},
      {"\u304Boa\u2126Ok\u0F73", "\u304Boa\u03A9Ok\u0F71\u0F72"},
      {"\u0303e\u0F71\u0F72\u1161", "\u0303e\u0F71\u0F72\u1161"},
      {"O", "O"},
      {"U\u0308\u0F72\u2126o\u0591", "\u00DC\u0F72\u03A9o\u0591"},
      {"\u0300O\u0F72O", "\u0300O\u0F72O"},
      {"\u0303\u0323U", "\u0323\u0303U"},
      {"\u1E9B", "\u1E9B"},
      {"\u304B\u1100o\u0323\u0303\u0323\u0F71\u0F71\u11A8o\u2126", "\u304B\u1100\u1ECD\u0F71\u0F71\u0323\u0303\u11A8o\u03A9"},
      {"aoUiOo", "aoUiOo"},
      {"\u2126i", "\u03A9i"},
      {"A\u0F73\u0F73\u1E9B\u0345k\u0345u\u0591\u0915\u0915\u30CF", "A\u0F71\u0F71\u0F72\u0F72\u1E9B\u0345k\u0345u\u0591\u0915\u0915\u30CF"},
      {"\u093C\u0308\u0300\u05B0\u11A8", "\u093C\u05B0\u0308\u0300\u11A8"},
      {"U\u3099", "U\u3099"},
      {"\u0915", "\u0915"},
      {"\u304B ", "\u304B "},
      {"\u093C", "\u093C"},
      {"\u309A\u0F72\u0915i\u11A8o\u093C\u1E9B", "\u309A\u0F72\u0915i\u11A8o\u093C\u1E9B"},
      {"\u0345\u1161\u1161\u212Be\u0303\u0301\u0F72\u0323\u30CFu\u11A8", "\u0345\u1161\u1161\u00C5\u1EB9\u0F72\u0303\u0301\u30CFu\u11A8"},
      {"\u11A8Ue\u0345", "\u11A8Ue\u0345"},
      {"\u3099\u0308O\u212BO\u0F71", "\u3099\u0308O\u00C5O\u0F71"},
      {"E\u0345\u304B\u0F72E\u30CFa", "E\u0345\u304B\u0F72E\u30CFa"},
      {"K\u0303\u0915i\u0F71A\u304BE", "K\u0303\u0915i\u0F71A\u304BE"},
      {"\u0915 e\u05B0OeO\u2126\u0327\u30CF\u031B", "\u0915 e\u05B0OeO\u03A9\u0327\u30CF\u031B"},
      {"i\u304B", "i\u304B"},
      {"\u0F71\u0303E\u3099E\u3099o\u3099\u0345", "\u0F71\u0303E\u3099E\u3099o\u3099\u0345"},
      {" u\u0303 \u0303\u212B\u1100\u0308\u093C\u309A", " \u0169 \u0303\u00C5\u1100\u093C\u309A\u0308"},
  };
  for (const auto& [in, expected] : cases) EXPECT_EQ(to_nfc(in), expected) << in;
  EXPECT_EQ(to_nfc("plain ascii"), "plain ascii");
  EXPECT_EQ(to_nfc("e\xCC\x81\xFF\xC3"), "\xC3\xA9\xFF\xC3");  // invalid bytes pass through
}

TEST(Nfc, QwenNormalizesDecomposedText) {
  REQUIRE_JSON("qwen3");
  const auto tok = load_json("qwen3");
  EXPECT_EQ(tok->encode("caf\u00E9", false), tok->encode("cafe\u0301", false));
}

// ---- malformed GGUF vocabularies ------------------------------------------------------------

void expect_gguf_error(const GgufWriter& w, const std::string& message_part) {
  const auto bytes = w.to_bytes();
  try {
    Tokenizer::from_gguf(*GgufFile::parse(bytes.data(), bytes.size(), "vocab.gguf"));
    ADD_FAILURE() << "no error, expected: " << message_part;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos) << e.what();
  }
}

TEST(MalformedGgufVocab, ClearErrors) {
  GgufWriter none;
  none.set_string("general.architecture", "llama");
  expect_gguf_error(none, "tokenizer.ggml.model");

  GgufWriter bert;
  bert.set_string("tokenizer.ggml.model", "bert");
  bert.set_strings("tokenizer.ggml.tokens", {"a", "b"});
  expect_gguf_error(bert, "unsupported tokenizer model 'bert'");

  GgufWriter no_tokens;
  no_tokens.set_string("tokenizer.ggml.model", "llama");
  expect_gguf_error(no_tokens, "tokenizer.ggml.tokens");

  GgufWriter wrong_type;
  wrong_type.set_string("tokenizer.ggml.model", "llama");
  wrong_type.set_i32s("tokenizer.ggml.tokens", {1, 2, 3});
  EXPECT_THROW(Tokenizer::from_gguf(*GgufFile::parse(wrong_type.to_bytes().data(), wrong_type.to_bytes().size())),
               std::runtime_error);

  GgufWriter short_scores;
  short_scores.set_string("tokenizer.ggml.model", "llama");
  short_scores.set_strings("tokenizer.ggml.tokens", {"a", "b", "c"});
  short_scores.set_f32s("tokenizer.ggml.scores", {0.0f});
  expect_gguf_error(short_scores, "fewer entries");

  GgufWriter no_merges;
  no_merges.set_string("tokenizer.ggml.model", "gpt2");
  no_merges.set_string("tokenizer.ggml.pre", "qwen2");
  no_merges.set_strings("tokenizer.ggml.tokens", {"a", "b"});
  expect_gguf_error(no_merges, "tokenizer.ggml.merges");

  GgufWriter unknown_pre;
  unknown_pre.set_string("tokenizer.ggml.model", "gpt2");
  unknown_pre.set_string("tokenizer.ggml.pre", "martian");
  unknown_pre.set_strings("tokenizer.ggml.tokens", {"a", "b"});
  unknown_pre.set_strings("tokenizer.ggml.merges", {"a b"});
  expect_gguf_error(unknown_pre, "unknown pre-tokenizer 'martian'");
}

// A small byte-level vocabulary written the way convert_hf_to_gguf does, out-of-range special ids.
TEST(GgufVocab, TinyBytelevelBpe) {
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "smollm");
  w.set_strings("tokenizer.ggml.tokens", {"<|endoftext|>", "h", "i", "\xC4\xA0", "hi", "\xC4\xA0h", "\xC4\xA0hi", "1", "2"});
  w.set_i32s("tokenizer.ggml.token_type", {3, 1, 1, 1, 1, 1, 1, 1, 1});
  w.set_strings("tokenizer.ggml.merges", {"\xC4\xA0 h", "h i", "\xC4\xA0h i"});  // "Ġ h" ranks first
  w.set_u32("tokenizer.ggml.bos_token_id", 0);
  w.set_u32("tokenizer.ggml.eos_token_id", 0);
  w.set_u32("tokenizer.ggml.padding_token_id", 4294967295u);
  const auto bytes = w.to_bytes();
  const auto tok = Tokenizer::from_gguf(*GgufFile::parse(bytes.data(), bytes.size()));
  EXPECT_EQ(tok->model_name(), "gpt2");
  EXPECT_FALSE(tok->adds_bos());
  EXPECT_EQ(tok->encode("hi hi12", true), (Ids{4, 6, 7, 8}));  // smollm: digits one by one
  EXPECT_EQ(tok->encode("hi<|endoftext|>", false, true), (Ids{4, 0}));
  EXPECT_TRUE(tok->is_end_of_generation(0));
  EXPECT_EQ(tok->decode({4, 6, 0}, true), "hi hi<|endoftext|>");
}

TEST(Threads, ConcurrentEncodeGivesTheSameIds) {
  REQUIRE_JSON("llama3");
  const auto tok = load_json("llama3");
  const std::string text = "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～ 3333333 \n\n  x";
  const Ids expected = tok->encode(text, true);
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) ok[t] += tok->encode(text, true) == expected;
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(ok[t], 50);
}

// ---- malformed tokenizer.json ---------------------------------------------------------------

// Named after the running test too: CTest runs tests in parallel processes.
std::string write_temp(const std::string& name, const std::string& content) {
  const std::string path =
      ::testing::TempDir() + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

void expect_load_error(const std::string& content, const std::string& message_part) {
  const std::string path = write_temp("tokenizer_under_test.json", content);
  try {
    Tokenizer::from_hf_files(path);
    ADD_FAILURE() << "no error for: " << content;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos) << e.what();
  }
}

TEST(MalformedTokenizerJson, ClearErrorsNeverCrashes) {
  expect_load_error("{\"model\": ", "malformed JSON");
  expect_load_error("[1, 2, 3]", "not an object");
  expect_load_error("{}", "no 'model' section");
  expect_load_error(R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]]}})", "unsupported model type 'Unigram'");
  expect_load_error(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})", "unsupported model type 'WordPiece'");
  expect_load_error(R"({"model": {"type": "BPE", "merges": []}})", "model.vocab");
  expect_load_error(R"({"model": {"type": "BPE", "vocab": {"a": -4}, "merges": []}})", "not a valid token id");
  expect_load_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [3]}})", "malformed entry in model.merges");
  expect_load_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["ab"]}})", "malformed merge");
  expect_load_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(x"}, "behavior": "Isolated"}})",
                    "bad pre-tokenizer regex");
  expect_load_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                        "pre_tokenizer": {"type": "Mystery"}})", "unsupported pre_tokenizer type 'Mystery'");
  expect_load_error(R"({"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}})", "not a valid token id");
  expect_load_error(R"({"model": {"type": 7}})", "is not a string");
  EXPECT_THROW(Tokenizer::from_hf_files("/nonexistent/tokenizer.json"), std::runtime_error);
}

// A tiny SentencePiece-style BPE (Llama 2 / Mistral tokenizer.json shape): metaspace, byte fallback.
TEST(HfSentencePieceBpe, MetaspaceAndByteFallback) {
  std::string vocab = R"("<unk>": 0, "<s>": 1, "</s>": 2)";
  for (int b = 0; b < 256; ++b) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    vocab += std::string(", \"") + buf + "\": " + std::to_string(3 + b);
  }
  vocab += R"(, "▁": 259, "h": 260, "i": 261, "▁h": 262, "▁hi": 263)";
  const std::string json = R"({"added_tokens": [{"id": 0, "content": "<unk>", "special": true},
      {"id": 1, "content": "<s>", "special": true}, {"id": 2, "content": "</s>", "special": true}],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
      {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
    "pre_tokenizer": null,
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
      {"Sequence": {"id": "A", "type_id": 0}}]},
    "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "vocab": {)" + vocab + R"(},
      "merges": ["▁ h", "▁h i"]}})";
  const auto tok = Tokenizer::from_hf_files(write_temp("spm_bpe.json", json));
  EXPECT_TRUE(tok->adds_bos());
  EXPECT_EQ(tok->encode("hi hi", true), (Ids{1, 263, 263}));
  EXPECT_EQ(tok->encode("hé", false), (Ids{262, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(tok->decode(tok->encode("hi hé", true)), "hi hé");
}

// Metaspace pre-tokenizer with prepend_scheme "first" (newer Llama / Mistral tokenizer.json): the
// space goes before the start of the input only, not after special tokens.
TEST(HfSentencePieceBpe, MetaspacePrependFirst) {
  const std::string json = R"({"added_tokens": [{"id": 0, "content": "<s>", "special": true}],
    "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false},
    "model": {"type": "BPE", "vocab": {"<s>": 0, "▁": 1, "h": 2, "i": 3, "▁h": 4, "▁hi": 5, "hi": 6},
      "merges": ["▁ h", "▁h i", "h i"]}})";
  const auto tok = Tokenizer::from_hf_files(write_temp("metaspace_first.json", json));
  EXPECT_EQ(tok->encode("hi hi", true), (Ids{0, 5, 5}));
  EXPECT_EQ(tok->encode("hi<s>hi", false, true), (Ids{5, 0, 6}));
  EXPECT_EQ(tok->decode(tok->encode("hi<s>hi", false, true), true), "hi<s>hi");
  EXPECT_EQ(tok->decode(tok->encode("hi hi", true)), "hi hi");
}

TEST(MalformedTokenizerJson, UnsupportedBpeOptions) {
  expect_load_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "end_of_word_suffix": "</w>"}})",
                    "end_of_word_suffix");
  expect_load_error(R"({"normalizer": {"type": "Lowercase"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})",
                    "unsupported normalizer type 'Lowercase'");
}

}  // namespace
}  // namespace citadel
