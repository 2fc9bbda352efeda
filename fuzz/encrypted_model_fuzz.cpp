// libFuzzer target: the encrypted-model reader (core/encrypted_model.h) on any bytes either
// refuses them with std::runtime_error or returns exactly what was sealed: raw input is decrypted
// as a file (header parsing, size arithmetic, chunk walk), and the input is also sealed and
// opened again, with one byte flipped where the input says (which must always be refused).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "core/encrypted_model.h"

namespace {

const citadel::ModelKey& key() {
  static const citadel::ModelKey k = [] {
    citadel::ModelKey m;
    for (size_t i = 0; i < m.bytes.size(); ++i) m.bytes[i] = static_cast<uint8_t>(i * 7 + 1);
    return m;
  }();
  return k;
}

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto m = citadel::decrypt_model_bytes(data, size, key(), "fuzz");
    require(m->size() + citadel::kEncryptedHeaderBytes + citadel::kEncryptedTagBytes <= size);
  } catch (const std::runtime_error&) {
  }
  if (size > 3 * citadel::kEncryptedChunkMin) return 0;  // round trips of small inputs: fast
  auto sealed = citadel::encrypt_model_bytes(data, size, key(), citadel::kEncryptedChunkMin);
  auto opened = citadel::decrypt_model_bytes(sealed.data(), sealed.size(), key(), "fuzz");
  require(opened->size() == size && (size == 0 || std::memcmp(opened->data(), data, size) == 0));
  if (size >= 2) {
    const size_t at = (static_cast<size_t>(data[0]) << 8 | data[1]) % sealed.size();
    sealed[at] ^= static_cast<uint8_t>(1u << (data[size - 1] & 7));
    bool refused = false;
    try {
      citadel::decrypt_model_bytes(sealed.data(), sealed.size(), key(), "fuzz");
    } catch (const std::runtime_error&) {
      refused = true;
    }
    require(refused);
  }
  return 0;
}
