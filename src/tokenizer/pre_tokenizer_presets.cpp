#include "tokenizer/pre_tokenizer_presets.h"

#include <stdexcept>

namespace citadel {

const char* const kGpt2WordRegex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

// Case-insensitive contractions spelled out, as llama.cpp does, so no Unicode case folding applies.
#define CONTRACTIONS R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]))"

const char* const kLlama3 =
    CONTRACTIONS R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2 =
    CONTRACTIONS R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen35 =
    CONTRACTIONS R"(|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kSeedCoder =
    CONTRACTIONS R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
const char* const kTekken =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kGpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)" CONTRACTIONS
    R"(?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*)" CONTRACTIONS
    R"(?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kBailing =
    R"('(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)";
const char* const kPoro = R"( ?[^(\s|.,!?…。，、।۔،)]+)";
const char* const kCjk = R"([一-龥ࠀ-一가-퟿]+)";
#undef CONTRACTIONS

// Latin, Greek, Cyrillic, ... cased letters of DeepSeek's tokenizer.json. Characters that Unicode
// normalization would rewrite (U+1F7D, U+1FBE, U+2126, ...) are escaped so no editor can alter them.
const char* const kDeepseekLetters =
    R"(\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\x{1F7D}ᾀ-ᾴᾶ-ᾼ\x{1FBE}ῂ-ῄῆ-ῌῐ-\x{1FD3}ῖ-\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\x{2126}ℨ\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+)";

bool is_one_of(const std::string& name, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (name == n) return true;
  return false;
}

}  // namespace

PreTokenizerPreset preset_for_gguf_pre(const std::string& name) {
  PreTokenizerPreset p;
  if (name.empty() || name == "default") {
    p.regexes = {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"};
  } else if (is_one_of(name, {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0",
                              "lfm2"})) {
    p.regexes = {kLlama3};
    p.ignore_merges = true;
    p.add_bos = true;
  } else if (is_one_of(name, {"dbrx", "smaug-bpe"})) {
    p.regexes = {kLlama3};
  } else if (is_one_of(name, {"glm4", "chatglm-bpe"})) {
    p.regexes = {kLlama3};
    p.has_bos = false;
  } else if (name == "deepseek-llm") {
    p.regexes = {"[\r\n]", kDeepseekLetters, R"(\s?[!-/:-~！-／：-～‘-‟　-。]+)", R"(\s+$)", kCjk, R"(\p{N}+)"};
  } else if (name == "deepseek-coder") {
    p.regexes = {"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjk, R"(\p{N})"};
  } else if (is_one_of(name, {"deepseek-v3", "hunyuan-dense"})) {
    p.regexes = {R"(\p{N}{1,3})", R"([一-龥぀-ゟ゠-ヿ]+)",
                 R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
  } else if (name == "falcon") {
    p.regexes = {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"};
  } else if (is_one_of(name, {"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b",
                              "mellum2"})) {
    p.regexes = {R"(\p{N})", kGpt2};
  } else if (is_one_of(name, {"gpt-2", "phi-2", "mpt", "olmo", "jais", "jina-es", "jina-de", "jina-v1-en",
                              "jina-v2-es", "jina-v2-de", "jina-v2-code", "roberta-bpe", "gigachat", "a.x-4.0",
                              "mellum", "modern-bert", "exaone4", "trillion", "granite-docling"})) {
    p.regexes = {kGpt2};
  } else if (is_one_of(name, {"qwen2", "deepseek-r1-qwen", "megrez", "stablelm2", "hunyuan", "solar-open", "kormo",
                              "grok-2", "f2llmv2"})) {
    p.regexes = {kQwen2};
  } else if (name == "qwen35") {
    p.regexes = {kQwen35};
  } else if (is_one_of(name, {"poro-chat", "bloom", "gpt3-finnish"})) {
    p.regexes = {kPoro};
  } else if (name == "viking") {
    p.regexes = {kPoro, R"(\p{N})"};
  } else if (name == "tekken") {
    p.regexes = {kTekken};
    p.ignore_merges = true;
    p.add_bos = true;
  } else if (name == "chameleon") {
    p.regexes = {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", R"(\p{N})",
                 R"([\p{P}!-/:-@\[-`{-~])", kGpt2};
    p.add_bos = true;
  } else if (is_one_of(name, {"gpt-4o", "llama4", "minimax-m2"})) {
    p.regexes = {kGpt4o};
  } else if (name == "seed-coder") {
    p.regexes = {kSeedCoder};
  } else if (is_one_of(name, {"bailingmoe", "bailingmoe2", "llada-moe"})) {
    p.regexes = {kBailing};
  } else if (name == "superbpe") {
    p.regexes = {R"(\p{N}+)", R"((?=(\d{3})+(?!\d)))"};
  } else {
    throw std::invalid_argument("unknown pre-tokenizer '" + name + "' (tokenizer.ggml.pre)");
  }
  return p;
}

}  // namespace citadel
