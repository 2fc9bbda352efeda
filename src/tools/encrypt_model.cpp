// citadel encrypt-model: seal a model file with AES-256-GCM (core/encrypted_model.h), or make a key.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "core/encrypted_model.h"
#include "core/model_key.h"
#include "tools/tool.h"

namespace citadel {
namespace {

int run_encrypt_model(int argc, char** argv) {
  CLI::App app{"Encrypt a model file at rest (AES-256-GCM in authenticated chunks). The encrypted file is\n"
               "opened by serve, generate and every other model command with --model-key-file K or\n"
               "CITADEL_MODEL_KEY_FILE; its plaintext is decrypted into memory only, never to disk.\n"
               "  citadel encrypt-model --generate-key model.key        new random key (mode 0600)\n"
               "  citadel encrypt-model in.gguf out.cgguf --key-file model.key",
               "citadel encrypt-model"};
  std::string in, out, key_file, new_key;
  uint32_t chunk = kEncryptedChunkDefault;
  app.add_option("in", in, "model file to encrypt");
  app.add_option("out", out, "encrypted file to write");
  app.add_option("--key-file", key_file, "32 raw bytes or 64 hex digits");
  app.add_option("--generate-key", new_key, "write a new random key to this file (never overwrites) and exit");
  app.add_option("--chunk-size", chunk, "bytes per authenticated chunk")
      ->capture_default_str()->check(CLI::Range(kEncryptedChunkMin, kEncryptedChunkMax));
  CLI11_PARSE(app, argc, argv);

  if (!new_key.empty()) {
    write_new_model_key_file(new_key);
    std::fprintf(stderr, "wrote a new 256-bit key to %s (mode 0600); keep it apart from the models it opens\n",
                 new_key.c_str());
    return 0;
  }
  if (in.empty() || out.empty() || key_file.empty()) {
    std::fprintf(stderr, "citadel encrypt-model: give IN OUT --key-file K (or --generate-key K); see --help\n");
    return 2;
  }
  if (is_encrypted_model_file(in)) throw std::runtime_error("'" + in + "' is already encrypted");
  encrypt_model_file(in, out, read_model_key_file(key_file), chunk);
  std::fprintf(stderr, "encrypted %s -> %s\n", in.c_str(), out.c_str());
  return 0;
}

const ToolRegistration reg{"encrypt-model", "encrypt a model file at rest (AES-256-GCM)", run_encrypt_model};

}  // namespace
}  // namespace citadel
