// The pre-tokenizers named by GGUF's tokenizer.ggml.pre, as llama.cpp defines them: the regex passes
// of each family and the defaults that go with the name.
#pragma once
#include <string>
#include <vector>

namespace citadel {

struct PreTokenizerPreset {
  std::vector<std::string> regexes;  // applied in order, each splitting the pieces of the previous
  bool ignore_merges = false;        // a word that is a whole token is taken as is (llama3, tekken)
  bool add_bos = false;              // default when tokenizer.ggml.add_bos_token is absent
  bool has_bos = true;               // false: the family has no BOS (chatglm)
};

// Throws std::invalid_argument for a name it does not know. "" means "default".
PreTokenizerPreset preset_for_gguf_pre(const std::string& name);

// GPT-2's word regex, used by tokenizer.json's ByteLevel pre-tokenizer when use_regex is set.
extern const char* const kGpt2WordRegex;

}  // namespace citadel
