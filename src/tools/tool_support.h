// Small helpers the subcommands share: where the default model is, loading a model with its
// tokenizer, reading stdin.
#pragma once
#include <memory>
#include <string>

#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace CLI {
class App;
}

namespace citadel {

// --model-key-file FILE: the key that opens encrypted models (core/encrypted_model.h) for the
// whole command; without it, $CITADEL_MODEL_KEY_FILE.
void add_model_key_option(CLI::App& app);

// $CITADEL_MODEL, else the bundled demo model (models/stories260K.gguf beside the build or install).
std::string default_model_path();

struct LoadedModel {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  double load_seconds = 0;
};
// Loads `path` (or the default model when empty) and its tokenizer.
LoadedModel load_model_and_tokenizer(const std::string& path);

std::string read_all_stdin();

}  // namespace citadel
