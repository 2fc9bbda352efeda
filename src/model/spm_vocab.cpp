#include "model/spm_vocab.h"

#include "core/gguf_writer.h"

namespace citadel {

void write_spm_vocab(GgufWriter& w, const SpmVocab& v) {
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_strings("tokenizer.ggml.tokens", v.tokens);
  w.set_f32s("tokenizer.ggml.scores", v.scores);
  w.set_i32s("tokenizer.ggml.token_type", v.types);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
}

}  // namespace citadel
