// The 256-bit key that encrypted model files (core/encrypted_model.h) are sealed with, and the
// key file that holds it: 32 raw bytes, or 64 hex digits (surrounding whitespace allowed).
// One key per process: set from --model-key-file, else $CITADEL_MODEL_KEY_FILE.
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace citadel {

struct ModelKey {
  std::array<uint8_t, 32> bytes{};
  ModelKey() = default;
  ModelKey(const ModelKey&) = default;
  ModelKey& operator=(const ModelKey&) = default;
  ~ModelKey();  // wipes the bytes
};

// Reads a key file; throws std::runtime_error naming the file and what is wrong (never the key).
ModelKey read_model_key_file(const std::string& path);
// Writes 32 fresh random bytes (getrandom) as 64 hex digits to a new file of mode 0600; throws
// if the file exists (a key is never overwritten) or cannot be written.
void write_new_model_key_file(const std::string& path);

// The process's key file: set_model_key_file() (the --model-key-file flags), else
// $CITADEL_MODEL_KEY_FILE, else none (empty string).
void set_model_key_file(const std::string& path);
std::string model_key_file();

}  // namespace citadel
