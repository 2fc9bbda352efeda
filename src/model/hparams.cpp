#include "model/hparams.h"

#include "core/gguf.h"

namespace citadel {
namespace {

void check_positive(int64_t v, const std::string& key) {
  if (v <= 0 || v > (1ll << 31)) throw FormatError("hyper-parameter " + key + " = " + std::to_string(v) + " is invalid");
}

}  // namespace

HParams HParams::from_gguf(const GgufFile& f) {
  HParams hp;
  hp.arch = f.require_string("general.architecture");
  hp.name = f.get_string("general.name");
  const std::string a = hp.arch + ".";
  hp.n_embd = f.require_int(a + "embedding_length");
  hp.n_layer = f.require_int(a + "block_count");
  hp.n_head = f.require_int(a + "attention.head_count");
  hp.n_head_kv = f.get_int(a + "attention.head_count_kv", hp.n_head);
  hp.n_ff = f.get_int(a + "feed_forward_length", 0);
  hp.n_ctx_train = f.get_int(a + "context_length", 2048);
  check_positive(hp.n_embd, a + "embedding_length");
  check_positive(hp.n_layer, a + "block_count");
  check_positive(hp.n_head, a + "attention.head_count");
  check_positive(hp.n_head_kv, a + "attention.head_count_kv");
  check_positive(hp.n_ctx_train, a + "context_length");
  if (hp.n_head % hp.n_head_kv != 0)
    throw FormatError("attention.head_count " + std::to_string(hp.n_head) + " is not a multiple of head_count_kv " +
                      std::to_string(hp.n_head_kv));
  hp.head_dim = f.get_int(a + "attention.key_length", hp.n_embd / hp.n_head);
  hp.head_dim_v = f.get_int(a + "attention.value_length", hp.head_dim);
  check_positive(hp.head_dim, a + "attention.key_length");
  if (hp.head_dim_v != hp.head_dim) throw FormatError("attention.value_length different from key_length is not supported");
  hp.n_rot = f.get_int(a + "rope.dimension_count", hp.head_dim);
  if (hp.n_rot <= 0 || hp.n_rot > hp.head_dim || hp.n_rot % 2)
    throw FormatError("rope.dimension_count " + std::to_string(hp.n_rot) + " is invalid for head size " +
                      std::to_string(hp.head_dim));
  hp.rope_theta = static_cast<float>(f.get_double(a + "rope.freq_base", 10000.0));
  std::string scaling = f.get_string(a + "rope.scaling.type", "none");
  double factor = f.get_double(a + "rope.scaling.factor", 1.0);
  if (scaling == "linear" && factor > 0) hp.rope_freq_scale = static_cast<float>(1.0 / factor);
  else if (scaling != "none" && scaling != "linear" && factor != 1.0)
    throw FormatError("rope scaling '" + scaling + "' is not supported");

  if (hp.arch == "falcon") {
    hp.norm_eps = static_cast<float>(f.get_double(a + "attention.layer_norm_epsilon", 1e-5));
    hp.rope_style = RopeStyle::NeoX;
  } else {
    hp.norm_eps = static_cast<float>(f.get_double(a + "attention.layer_norm_rms_epsilon", 1e-5));
    hp.rope_style = (hp.arch == "llama") ? RopeStyle::Adjacent : RopeStyle::NeoX;
  }
  if (const GgufValue* tokens = f.find("tokenizer.ggml.tokens")) hp.n_vocab = static_cast<int64_t>(tokens->array_size());
  hp.n_vocab = f.get_int(a + "vocab_size", hp.n_vocab);
  return hp;
}

}  // namespace citadel
