// Tokenizer::from_gguf: the tokenizer.ggml.* keys of a GGUF file, read the way llama.cpp reads them.
#include <stdexcept>

#include "core/gguf.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/pre_tokenizer_presets.h"
#include "tokenizer/spm_tokenizer.h"

namespace citadel {
namespace {

std::runtime_error gguf_error(const GgufFile& gguf, const std::string& what) {
  return std::runtime_error(gguf.path() + ": " + what);
}

Vocab read_vocab(const GgufFile& gguf) {
  const GgufValue* tokens = gguf.find("tokenizer.ggml.tokens");
  if (!tokens) throw gguf_error(gguf, "no vocabulary (tokenizer.ggml.tokens is missing)");
  const auto& texts = tokens->as_strings();
  if (texts.empty()) throw gguf_error(gguf, "empty vocabulary (tokenizer.ggml.tokens)");

  std::vector<float> scores;
  if (const GgufValue* v = gguf.find("tokenizer.ggml.scores")) scores = v->as_floats();
  std::vector<int64_t> types;
  if (const GgufValue* v = gguf.find("tokenizer.ggml.token_type")) types = v->as_ints();
  if (!scores.empty() && scores.size() < texts.size())
    throw gguf_error(gguf, "tokenizer.ggml.scores has fewer entries than tokenizer.ggml.tokens");
  if (!types.empty() && types.size() < texts.size())
    throw gguf_error(gguf, "tokenizer.ggml.token_type has fewer entries than tokenizer.ggml.tokens");

  Vocab vocab;
  for (size_t i = 0; i < texts.size(); ++i) {
    TokenInfo t;
    t.text = texts[i];
    t.score = scores.empty() ? 0.0f : scores[i];
    const int64_t type = types.empty() ? 1 : types[i];
    t.type = (type >= 0 && type <= 6) ? static_cast<TokenType>(type) : TokenType::kUndefined;
    vocab.push(std::move(t));
  }
  return vocab;
}

// Special ids: the family's defaults, overridden by the metadata when in range.
void read_special_ids(const GgufFile& gguf, Vocab& vocab) {
  auto id = [&](const char* key, int32_t def) { return checked_token_id(gguf.get_int(key, def), vocab); };
  vocab.bos = id("tokenizer.ggml.bos_token_id", vocab.bos);
  vocab.eos = id("tokenizer.ggml.eos_token_id", vocab.eos);
  vocab.eot = id("tokenizer.ggml.eot_token_id", vocab.eot);
  vocab.eom = id("tokenizer.ggml.eom_token_id", vocab.eom);
  vocab.unk = id("tokenizer.ggml.unknown_token_id", vocab.unk);
  vocab.pad = id("tokenizer.ggml.padding_token_id", vocab.pad);
  vocab.add_bos = gguf.get_bool("tokenizer.ggml.add_bos_token", vocab.add_bos);
  vocab.add_eos = gguf.get_bool("tokenizer.ggml.add_eos_token", vocab.add_eos);
  vocab.finish();
}

std::vector<std::pair<std::string, std::string>> read_merges(const GgufFile& gguf) {
  const GgufValue* v = gguf.find("tokenizer.ggml.merges");
  if (!v) throw gguf_error(gguf, "BPE vocabulary without merges (tokenizer.ggml.merges is missing)");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(v->as_strings().size());
  for (const std::string& m : v->as_strings()) {
    const size_t space = m.find(' ', 1);  // a merge may start with a space token
    if (space == std::string::npos) throw gguf_error(gguf, "malformed merge '" + m + "' (no space)");
    merges.emplace_back(m.substr(0, space), m.substr(space + 1));
  }
  return merges;
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& gguf) {
  const std::string model = gguf.get_string("tokenizer.ggml.model");
  if (model.empty()) throw gguf_error(gguf, "no tokenizer (tokenizer.ggml.model is missing)");
  Vocab vocab = read_vocab(gguf);

  if (model == "llama") {
    vocab.bos = checked_token_id(1, vocab);
    vocab.eos = checked_token_id(2, vocab);
    vocab.unk = checked_token_id(0, vocab);
    vocab.add_bos = true;
    read_special_ids(gguf, vocab);
    const bool add_space_prefix = gguf.get_bool("tokenizer.ggml.add_space_prefix", true);
    return std::make_unique<SpmTokenizer>(std::move(vocab), add_space_prefix);
  }
  if (model == "gpt2") {
    const std::string pre = gguf.get_string("tokenizer.ggml.pre", "default");
    PreTokenizerPreset preset;
    try {
      preset = preset_for_gguf_pre(pre);
    } catch (const std::invalid_argument& e) {
      throw gguf_error(gguf, e.what());
    }
    BpeOptions options;
    options.merges = read_merges(gguf);
    for (const auto& regex : preset.regexes) options.pre_tokenizer.add_regex(regex);
    options.pre_name = pre;
    options.ignore_merges = preset.ignore_merges;
    vocab.add_bos = preset.add_bos;
    read_special_ids(gguf, vocab);
    if (!preset.has_bos) vocab.bos = -1;
    return std::make_unique<BpeTokenizer>(std::move(vocab), std::move(options));
  }
  throw gguf_error(gguf, "unsupported tokenizer model '" + model + "' (tokenizer.ggml.model; supported: llama, gpt2)");
}

}  // namespace citadel
