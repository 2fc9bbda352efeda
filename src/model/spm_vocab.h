// A SentencePiece-style vocabulary as GGUF stores it (tokenizer.ggml.model = "llama"), for the
// writers that build one (llama2.c conversion, synthetic models).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace citadel {

class GgufWriter;

struct SpmVocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;  // 1 normal, 2 unknown, 3 control, 6 byte
};

// Writes the tokenizer.ggml.* keys, with <unk> = 0, <s> = 1, </s> = 2 as llama2.c vocabularies have.
void write_spm_vocab(GgufWriter& w, const SpmVocab& v);

}  // namespace citadel
