// Tokenizer files of a Hugging Face folder -> GGUF tokenizer.ggml.* metadata, as llama.cpp's
// converter writes it:
//  - tokenizer.model (SentencePiece protobuf): model "llama", pieces with scores and types;
//  - tokenizer.json, byte-level BPE: model "gpt2", tokens, types, merges, and "pre" named after the
//    pre-tokenizer regex (llama-bpe, qwen2, or default);
//  - tokenizer.json, SentencePiece-style BPE (Metaspace, byte fallback): model "llama", scores from
//    the merge ranks so that the highest-scoring pair is the first merge.
// tokenizer_config.json gives BOS/EOS, add_bos/add_eos and the chat template.
#pragma once
#include <string>

namespace citadel {

class GgufWriter;

// Returns false when the folder has no tokenizer file; throws FormatError on a malformed one.
bool add_hf_tokenizer_metadata(const std::string& dir, GgufWriter& w);

}  // namespace citadel
