// Tokenizer::from_hf_files: a Hugging Face tokenizer.json (model BPE, byte-level or SentencePiece-
// style) plus tokenizer_config.json for the BOS/EOS rules.
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "core/json_file.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/metaspace.h"
#include "tokenizer/pre_tokenizer_presets.h"

namespace citadel {
namespace {

using nlohmann::json;

struct FormatProblem : std::runtime_error {
  using std::runtime_error::runtime_error;
};


const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return (it == obj.end() || it->is_null()) ? nullptr : &*it;
}

std::string string_member(const json& obj, const char* key, const std::string& def = "") {
  const json* v = member(obj, key);
  if (!v) return def;
  if (!v->is_string()) throw FormatProblem(std::string("'") + key + "' is not a string");
  return v->get<std::string>();
}

bool bool_member(const json& obj, const char* key, bool def) {
  const json* v = member(obj, key);
  if (!v) return def;
  if (!v->is_boolean()) throw FormatProblem(std::string("'") + key + "' is not a boolean");
  return v->get<bool>();
}

// tokenizer_config.json writes a token as "text" or as {"content": "text", ...}.
std::string token_member(const json& obj, const char* key) {
  const json* v = member(obj, key);
  if (!v) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object()) return string_member(*v, "content");
  throw FormatProblem(std::string("'") + key + "' is neither a string nor a token object");
}

constexpr int64_t kMaxVocab = 1 << 24;

Vocab read_vocab(const json& model, const json& root) {
  const json* entries = member(model, "vocab");
  if (!entries || !entries->is_object()) throw FormatProblem("model.vocab is missing or not an object");
  Vocab vocab;
  for (const auto& [text, id] : entries->items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= kMaxVocab)
      throw FormatProblem("model.vocab['" + text + "'] is not a valid token id");
    vocab.set(id.get<int32_t>(), TokenInfo{text, 0, TokenType::kNormal});
  }
  if (const json* added = member(root, "added_tokens")) {
    if (!added->is_array()) throw FormatProblem("added_tokens is not an array");
    for (const json& t : *added) {
      const json* id = member(t, "id");
      if (!id || !id->is_number_integer() || id->get<int64_t>() < 0 || id->get<int64_t>() >= kMaxVocab)
        throw FormatProblem("an added token has no valid id");
      TokenInfo info;
      info.text = string_member(t, "content");
      info.type = bool_member(t, "special", false) ? TokenType::kControl : TokenType::kUserDefined;
      info.lstrip = bool_member(t, "lstrip", false);
      info.rstrip = bool_member(t, "rstrip", false);
      vocab.set(id->get<int32_t>(), std::move(info));
    }
  }
  if (vocab.size() == 0) throw FormatProblem("the vocabulary is empty");
  return vocab;
}

std::vector<std::pair<std::string, std::string>> read_merges(const json& model) {
  const json* list = member(model, "merges");
  if (!list || !list->is_array()) throw FormatProblem("model.merges is missing or not an array");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(list->size());
  for (const json& m : *list) {
    if (m.is_string()) {  // "left right"
      const auto& s = m.get_ref<const std::string&>();
      const size_t space = s.find(' ', 1);
      if (space == std::string::npos) throw FormatProblem("malformed merge '" + s + "'");
      merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // ["left", "right"]
      merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      throw FormatProblem("malformed entry in model.merges");
    }
  }
  return merges;
}

SplitBehavior split_behavior(const std::string& name) {
  if (name.empty() || name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  throw FormatProblem("unknown split behavior '" + name + "'");
}

std::string quote_literal(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}/-").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// The parts of a {"type": "Sequence", key: [...]} section.
const json& sequence_members(const json& sequence, const char* key) {
  const json* list = member(sequence, key);
  if (!list || !list->is_array()) throw FormatProblem(std::string("Sequence without a '") + key + "' array");
  return *list;
}

// Turns the pre_tokenizer section into regex passes and the options that go with them.
void read_pre_tokenizer(const json& pre, BpeOptions& options) {
  const std::string type = string_member(pre, "type");
  if (type == "Sequence") {
    for (const json& p : sequence_members(pre, "pretokenizers")) read_pre_tokenizer(p, options);
  } else if (type == "Split") {
    const json* pattern = member(pre, "pattern");
    if (!pattern) throw FormatProblem("Split pre-tokenizer without a pattern");
    const std::string regex = member(*pattern, "Regex") ? string_member(*pattern, "Regex")
                                                        : quote_literal(string_member(*pattern, "String"));
    options.pre_tokenizer.add_regex(regex, split_behavior(string_member(pre, "behavior")),
                                    bool_member(pre, "invert", false));
  } else if (type == "ByteLevel") {
    options.byte_level = true;
    if (bool_member(pre, "use_regex", true)) options.pre_tokenizer.add_regex(kGpt2WordRegex);
    if (bool_member(pre, "add_prefix_space", false)) options.prefix_space = PrefixSpace::kIfMissing;
  } else if (type == "Digits") {
    options.pre_tokenizer.add_regex(bool_member(pre, "individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)");
  } else if (type == "Punctuation") {
    options.pre_tokenizer.add_regex(R"([\p{P}!-/:-@\[-`{-~])", split_behavior(string_member(pre, "behavior")));
  } else if (type == "Whitespace") {
    options.pre_tokenizer.add_regex(R"(\w+|[^\w\s]+)", SplitBehavior::kRemoved, true);
  } else if (type == "WhitespaceSplit") {
    options.pre_tokenizer.add_regex(R"(\s+)", SplitBehavior::kRemoved);
  } else if (type == "Metaspace") {
    if (string_member(pre, "replacement", std::string(metaspace::kSymbol)) != metaspace::kSymbol)
      throw FormatProblem("Metaspace with a replacement other than U+2581 is not supported");
    options.spaces_as_metaspace = true;
    const bool legacy_prefix = bool_member(pre, "add_prefix_space", true);  // before prepend_scheme existed
    const std::string scheme = string_member(pre, "prepend_scheme", legacy_prefix ? "always" : "never");
    options.prefix_space = scheme == "never" ? PrefixSpace::kNever
                           : scheme == "first" ? PrefixSpace::kFirst
                                               : PrefixSpace::kAlways;
    if (bool_member(pre, "split", true))
      options.pre_tokenizer.add_regex(std::string(metaspace::kSymbol), SplitBehavior::kMergedWithNext);
  } else {
    throw FormatProblem("unsupported pre_tokenizer type '" + type + "'");
  }
}

// Normalizers: NFC, and those of SentencePiece-style BPE: Prepend("▁") and Replace(" ", "▁").
// Anything else that would change the text is refused.
void read_normalizer(const json& norm, BpeOptions& options) {
  const std::string type = string_member(norm, "type");
  if (type == "Sequence") {
    for (const json& n : sequence_members(norm, "normalizers")) read_normalizer(n, options);
  } else if (type == "Prepend") {
    if (string_member(norm, "prepend") != metaspace::kSymbol)
      throw FormatProblem("Prepend normalizer other than U+2581 is not supported");
    options.prefix_space = PrefixSpace::kAlways;
  } else if (type == "Replace") {
    const json* pattern = member(norm, "pattern");
    if (!pattern || string_member(*pattern, "String") != " " || string_member(norm, "content") != metaspace::kSymbol)
      throw FormatProblem("only the Replace(' ' -> U+2581) normalizer is supported");
    options.spaces_as_metaspace = true;
  } else if (type == "NFC") {
    options.nfc = true;
  } else {
    throw FormatProblem("unsupported normalizer type '" + type + "'");
  }
}

// The special tokens a TemplateProcessing post-processor puts around a single sequence.
std::pair<std::string, std::string> template_specials(const json& root) {
  const json* post = member(root, "post_processor");
  if (!post || string_member(*post, "type") != "TemplateProcessing") return {};
  const json* single = member(*post, "single");
  if (!single || !single->is_array() || single->empty()) return {};
  auto special_id = [](const json& item) -> std::string {
    const json* s = member(item, "SpecialToken");
    return s ? string_member(*s, "id") : "";
  };
  return {special_id(single->front()), single->size() > 1 ? special_id(single->back()) : ""};
}

int32_t first_existing(const Vocab& vocab, std::initializer_list<const char*> texts) {
  for (const char* t : texts)
    if (vocab.find(t) >= 0) return vocab.find(t);
  return -1;
}

// BOS/EOS: tokenizer_config.json first, then the post-processor, then well-known token texts.
void read_special_rules(const json& root, const json* config, Vocab& vocab) {
  const auto [template_bos, template_eos] = template_specials(root);
  const std::string bos_text = config ? token_member(*config, "bos_token") : "";
  const std::string eos_text = config ? token_member(*config, "eos_token") : "";
  const std::string unk_text = config ? token_member(*config, "unk_token") : "";
  const std::string pad_text = config ? token_member(*config, "pad_token") : "";
  vocab.bos = vocab.find(!bos_text.empty() ? bos_text : template_bos);
  vocab.eos = vocab.find(!eos_text.empty() ? eos_text : template_eos);
  if (!unk_text.empty()) vocab.unk = vocab.find(unk_text);
  if (!pad_text.empty()) vocab.pad = vocab.find(pad_text);
  if (!config) {
    if (vocab.bos < 0 && template_bos.empty()) vocab.bos = first_existing(vocab, {"<s>", "<|begin_of_text|>", "<bos>"});
    if (vocab.eos < 0) vocab.eos = first_existing(vocab, {"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>"});
  }
  if (const json* v = config ? member(*config, "add_bos_token") : nullptr; v && v->is_boolean()) {
    vocab.add_bos = v->get<bool>();
  } else if (member(root, "post_processor") && string_member(root["post_processor"], "type") == "TemplateProcessing") {
    vocab.add_bos = !template_bos.empty() && vocab.find(template_bos) == vocab.bos;
  } else {
    // No rule written down: a distinct BOS (Llama 3) is added, a shared BOS/EOS (GPT-2) is not.
    vocab.add_bos = vocab.bos >= 0 && vocab.bos != vocab.eos;
  }
  if (const json* v = config ? member(*config, "add_eos_token") : nullptr; v && v->is_boolean())
    vocab.add_eos = v->get<bool>();
  if (vocab.unk >= 0 && vocab.type(vocab.unk) == TokenType::kControl) {
    TokenInfo unk = vocab.at(vocab.unk);
    unk.type = TokenType::kUnknown;
    vocab.set(vocab.unk, std::move(unk));
  }
  vocab.finish();
}

std::unique_ptr<Tokenizer> build(const json& root, const json* config) {
  if (!root.is_object()) throw FormatProblem("the top level is not an object");
  const json* model = member(root, "model");
  if (!model || !model->is_object()) throw FormatProblem("no 'model' section");
  const std::string type = string_member(*model, "type", member(*model, "merges") ? "BPE" : "");
  if (type != "BPE")
    throw FormatProblem("unsupported model type '" + type + "' (only BPE tokenizers are supported)");

  Vocab vocab = read_vocab(*model, root);
  BpeOptions options;
  options.byte_level = false;
  options.merges = read_merges(*model);
  options.ignore_merges = bool_member(*model, "ignore_merges", false);
  options.pre_name = "tokenizer.json";
  if (const json* norm = member(root, "normalizer")) read_normalizer(*norm, options);
  if (const json* pre = member(root, "pre_tokenizer")) read_pre_tokenizer(*pre, options);
  const json* decoder = member(root, "decoder");
  if (decoder && decoder->dump().find("\"ByteLevel\"") != std::string::npos) options.byte_level = true;

  if (!string_member(*model, "continuing_subword_prefix").empty() ||
      !string_member(*model, "end_of_word_suffix").empty())
    throw FormatProblem("BPE with continuing_subword_prefix / end_of_word_suffix is not supported");
  const std::string unk = string_member(*model, "unk_token");
  if (!unk.empty()) vocab.unk = vocab.find(unk);
  if (bool_member(*model, "byte_fallback", false)) {
    for (int b = 0; b < 256; ++b) {
      const int32_t id = vocab.byte_token(static_cast<uint8_t>(b));
      if (id < 0 || vocab.type(id) != TokenType::kNormal) continue;
      TokenInfo info = vocab.at(id);
      info.type = TokenType::kByte;
      vocab.set(id, std::move(info));
    }
  }
  read_special_rules(root, config, vocab);
  return std::make_unique<BpeTokenizer>(std::move(vocab), std::move(options));
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_hf_files(const std::string& tokenizer_json_path,
                                                    const std::string& tokenizer_config_path) {
  const json root = read_json_file(tokenizer_json_path);
  json config;
  if (!tokenizer_config_path.empty()) config = read_json_file(tokenizer_config_path);
  try {
    return build(root, config.is_object() ? &config : nullptr);
  } catch (const FormatProblem& e) {
    throw std::runtime_error(tokenizer_json_path + ": " + e.what());
  } catch (const std::invalid_argument& e) {  // a pre-tokenizer regex that does not compile
    throw std::runtime_error(tokenizer_json_path + ": " + e.what());
  } catch (const json::exception& e) {
    throw std::runtime_error(tokenizer_json_path + ": unexpected content: " + e.what());
  }
}

}  // namespace citadel
