// Encrypted model files: a model sealed with AES-256-GCM so that a copied disk, backup or
// image reveals nothing, and a changed byte is refused rather than computed with.
//
// Layout (integers little-endian):
//   header, 72 bytes: magic "CITADENC" | u32 version (1) | u32 chunk size | u64 plaintext size |
//                     32-byte random salt | 16-byte key check
//   chunks: max(1, ceil(plaintext / chunk size)) of them, each its ciphertext then a 16-byte tag.
// Per file, HKDF-SHA256(key, salt, "citadel encrypted model v1") gives a file key, a 4-byte nonce
// prefix and the key check (a wrong key is named as such, before any chunk is tried). Chunk i is
// sealed under the nonce prefix | big-endian u64 i with the whole header | u64 i | u8 last-chunk
// flag as associated data: an edited header, a flipped byte, reordered, dropped or appended chunks
// all fail, and the file's exact size is checked first (truncation is named as such).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/model_key.h"

namespace citadel {

constexpr size_t kEncryptedHeaderBytes = 72;
constexpr size_t kEncryptedTagBytes = 16;
constexpr uint32_t kEncryptedChunkDefault = 1u << 20;
constexpr uint32_t kEncryptedChunkMin = 4096, kEncryptedChunkMax = 64u << 20;

// True when the bytes (the file) start with the magic.
bool has_encrypted_model_magic(const uint8_t* data, size_t size);
bool is_encrypted_model_file(const std::string& path);

// Seals `size` bytes in memory (tests, fuzzing) or the file `in` into `out` (written beside it as
// out.tmp, then renamed: a failure leaves no partial file). Throws std::runtime_error.
std::vector<uint8_t> encrypt_model_bytes(const uint8_t* data, size_t size, const ModelKey& key,
                                         uint32_t chunk_size = kEncryptedChunkDefault);
void encrypt_model_file(const std::string& in, const std::string& out, const ModelKey& key,
                        uint32_t chunk_size = kEncryptedChunkDefault);

// Checks and decrypts a whole encrypted file's bytes into anonymous memory (MappedFile::anonymous:
// never on disk, out of core dumps). Throws std::runtime_error naming `name` and the fault: not
// encrypted, unsupported version, truncated, wrong key, chunk i fails authentication.
std::unique_ptr<MappedFile> decrypt_model_bytes(const uint8_t* data, size_t size, const ModelKey& key,
                                                const std::string& name);
std::unique_ptr<MappedFile> decrypt_model_file(const std::string& path, const ModelKey& key);

// A model file's plaintext bytes: a plain file mapped read-only, an encrypted one decrypted with
// the process's key (model_key.h); throws when that key is missing or does not fit.
std::unique_ptr<MappedFile> open_model_file(const std::string& path);

}  // namespace citadel
