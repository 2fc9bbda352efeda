#include "core/encrypted_model.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#if CITADEL_HAVE_OPENSSL
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#endif

namespace citadel {
namespace {

constexpr char kMagic[8] = {'C', 'I', 'T', 'A', 'D', 'E', 'N', 'C'};
constexpr uint32_t kVersion = 1;
constexpr char kInfo[] = "citadel encrypted model v1";

struct Header {
  uint32_t version = kVersion;
  uint32_t chunk_size = 0;
  uint64_t plaintext_size = 0;
  uint8_t salt[32] = {};
  uint8_t key_check[16] = {};
};

void put_le(uint8_t* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t get_le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

[[maybe_unused]] void encode(const Header& h, uint8_t out[kEncryptedHeaderBytes]) {
  std::memcpy(out, kMagic, 8);
  put_le(out + 8, h.version, 4);
  put_le(out + 12, h.chunk_size, 4);
  put_le(out + 16, h.plaintext_size, 8);
  std::memcpy(out + 24, h.salt, 32);
  std::memcpy(out + 56, h.key_check, 16);
}

uint64_t chunk_count(uint64_t plaintext, uint32_t chunk) { return plaintext == 0 ? 1 : (plaintext - 1) / chunk + 1; }

// The whole file's size for a header, or 0 when it overflows (no real file is that large).
uint64_t sealed_size(uint64_t plaintext, uint32_t chunk) {
  const uint64_t tags = chunk_count(plaintext, chunk) * kEncryptedTagBytes;
  const uint64_t fixed = kEncryptedHeaderBytes + tags;
  return plaintext > UINT64_MAX - fixed ? 0 : plaintext + fixed;
}

void check_chunk_size(uint32_t chunk) {
  if (chunk < kEncryptedChunkMin || chunk > kEncryptedChunkMax)
    throw std::runtime_error("chunk size " + std::to_string(chunk) + " is outside " + std::to_string(kEncryptedChunkMin) +
                             ".." + std::to_string(kEncryptedChunkMax));
}

#if CITADEL_HAVE_OPENSSL

// What HKDF derives for one file; wiped when done.
struct FileKeys {
  uint8_t key[32];
  uint8_t nonce_prefix[4];
  uint8_t check[16];
  ~FileKeys() { OPENSSL_cleanse(this, sizeof *this); }
};

void derive(const ModelKey& master, const uint8_t salt[32], FileKeys& out) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
  uint8_t buf[52];
  size_t len = sizeof buf;
  const bool ok = ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0 &&
                  EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt, 32) > 0 &&
                  EVP_PKEY_CTX_set1_hkdf_key(ctx, master.bytes.data(), static_cast<int>(master.bytes.size())) > 0 &&
                  EVP_PKEY_CTX_add1_hkdf_info(ctx, reinterpret_cast<const unsigned char*>(kInfo), sizeof kInfo - 1) > 0 &&
                  EVP_PKEY_derive(ctx, buf, &len) > 0 && len == sizeof buf;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) throw std::runtime_error("HKDF-SHA256 failed in OpenSSL");
  std::memcpy(out.key, buf, 32);
  std::memcpy(out.nonce_prefix, buf + 32, 4);
  std::memcpy(out.check, buf + 36, 16);
  OPENSSL_cleanse(buf, sizeof buf);
}

// One AES-256-GCM context used for every chunk of a file.
class ChunkCipher {
 public:
  ChunkCipher(const FileKeys& keys, const uint8_t header[kEncryptedHeaderBytes], bool encrypt)
      : ctx_(EVP_CIPHER_CTX_new()), encrypt_(encrypt), keys_(keys) {
    if (!ctx_) throw std::runtime_error("out of memory for the cipher");
    std::memcpy(aad_, header, kEncryptedHeaderBytes);
  }
  ~ChunkCipher() { EVP_CIPHER_CTX_free(ctx_); }
  ChunkCipher(const ChunkCipher&) = delete;
  ChunkCipher& operator=(const ChunkCipher&) = delete;

  // Encrypts (tag written to `tag`) or decrypts and verifies (tag read from `tag`); false when the
  // tag does not match. `in` and `out` may be the same.
  bool run(uint64_t index, bool last, const uint8_t* in, size_t n, uint8_t* out, uint8_t* tag) {
    uint8_t nonce[12];
    std::memcpy(nonce, keys_.nonce_prefix, 4);
    for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(index >> (56 - 8 * i));
    put_le(aad_ + kEncryptedHeaderBytes, index, 8);
    aad_[kEncryptedHeaderBytes + 8] = last ? 1 : 0;
    auto init = encrypt_ ? EVP_EncryptInit_ex : EVP_DecryptInit_ex;
    auto update = encrypt_ ? EVP_EncryptUpdate : EVP_DecryptUpdate;
    int len = 0;
    if (init(ctx_, EVP_aes_256_gcm(), nullptr, keys_.key, nonce) <= 0 ||
        update(ctx_, nullptr, &len, aad_, sizeof aad_) <= 0)
      throw std::runtime_error("AES-256-GCM setup failed in OpenSSL");
    // EVP lengths are int: feed large chunks in pieces.
    for (size_t done = 0; done < n;) {
      const int piece = static_cast<int>(std::min<size_t>(n - done, 1u << 30));
      if (update(ctx_, out + done, &len, in + done, piece) <= 0) throw std::runtime_error("AES-256-GCM failed");
      done += static_cast<size_t>(piece);
    }
    if (encrypt_) {
      if (EVP_EncryptFinal_ex(ctx_, out + n, &len) <= 0 ||
          EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, kEncryptedTagBytes, tag) <= 0)
        throw std::runtime_error("AES-256-GCM failed");
      return true;
    }
    if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, kEncryptedTagBytes, tag) <= 0)
      throw std::runtime_error("AES-256-GCM failed");
    return EVP_DecryptFinal_ex(ctx_, out + n, &len) > 0;
  }

 private:
  EVP_CIPHER_CTX* ctx_;
  bool encrypt_;
  const FileKeys& keys_;
  uint8_t aad_[kEncryptedHeaderBytes + 9] = {};
};

// A new header (random salt, key check) and its keys for `size` bytes of plaintext.
void new_header(const ModelKey& key, uint64_t size, uint32_t chunk, uint8_t out[kEncryptedHeaderBytes], FileKeys& keys) {
  check_chunk_size(chunk);
  Header h;
  h.chunk_size = chunk;
  h.plaintext_size = size;
  if (RAND_bytes(h.salt, sizeof h.salt) != 1) throw std::runtime_error("no randomness from OpenSSL");
  derive(key, h.salt, keys);
  std::memcpy(h.key_check, keys.check, sizeof h.key_check);
  encode(h, out);
}

#endif  // CITADEL_HAVE_OPENSSL

[[noreturn, maybe_unused]] void no_openssl() {
  throw std::runtime_error("encrypted models need OpenSSL, which this build was made without");
}

// Writes all of `p`; false on an error (errno says which).
[[maybe_unused]] bool write_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

bool has_encrypted_model_magic(const uint8_t* data, size_t size) {
  return size >= sizeof kMagic && std::memcmp(data, kMagic, sizeof kMagic) == 0;
}

bool is_encrypted_model_file(const std::string& path) {
  uint8_t head[sizeof kMagic];
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = ::read(fd, head, sizeof head);
  ::close(fd);
  return n == static_cast<ssize_t>(sizeof head) && has_encrypted_model_magic(head, sizeof head);
}

std::vector<uint8_t> encrypt_model_bytes(const uint8_t* data, size_t size, const ModelKey& key, uint32_t chunk_size) {
#if CITADEL_HAVE_OPENSSL
  uint8_t header[kEncryptedHeaderBytes];
  FileKeys keys;
  new_header(key, size, chunk_size, header, keys);
  std::vector<uint8_t> out(sealed_size(size, chunk_size));
  std::memcpy(out.data(), header, sizeof header);
  ChunkCipher cipher(keys, header, true);
  const uint64_t n = chunk_count(size, chunk_size);
  uint8_t* w = out.data() + sizeof header;
  for (uint64_t i = 0; i < n; ++i) {
    const size_t len = static_cast<size_t>(std::min<uint64_t>(chunk_size, size - i * chunk_size));
    cipher.run(i, i + 1 == n, data + i * chunk_size, len, w, w + len);
    w += len + kEncryptedTagBytes;
  }
  return out;
#else
  no_openssl();
#endif
}

void encrypt_model_file(const std::string& in, const std::string& out, const ModelKey& key, uint32_t chunk_size) {
#if CITADEL_HAVE_OPENSSL
  const int src = ::open(in.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) throw std::runtime_error("cannot open '" + in + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(src);
    throw std::runtime_error("'" + in + "' is not a regular file");
  }
  const std::string tmp = out + ".tmp";
  const int dst = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (dst < 0) {
    const int err = errno;
    ::close(src);
    throw std::runtime_error("cannot create '" + tmp + "': " + std::strerror(err));
  }
  std::string error;
  try {
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    uint8_t header[kEncryptedHeaderBytes];
    FileKeys keys;
    new_header(key, size, chunk_size, header, keys);
    if (!write_all(dst, header, sizeof header)) throw std::runtime_error("cannot write '" + tmp + "': " + std::strerror(errno));
    ChunkCipher cipher(keys, header, true);
    std::vector<uint8_t> buf(chunk_size + kEncryptedTagBytes);
    const uint64_t n = chunk_count(size, chunk_size);
    for (uint64_t i = 0; i < n; ++i) {
      const size_t len = static_cast<size_t>(std::min<uint64_t>(chunk_size, size - i * chunk_size));
      for (size_t got = 0; got < len;) {
        ssize_t r = ::pread(src, buf.data() + got, len - got, static_cast<off_t>(i * chunk_size + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) throw std::runtime_error("'" + in + "' changed or could not be read while encrypting");
        got += static_cast<size_t>(r);
      }
      cipher.run(i, i + 1 == n, buf.data(), len, buf.data(), buf.data() + len);
      if (!write_all(dst, buf.data(), len + kEncryptedTagBytes))
        throw std::runtime_error("cannot write '" + tmp + "': " + std::strerror(errno));
    }
    OPENSSL_cleanse(buf.data(), buf.size());
    if (::fsync(dst) != 0) throw std::runtime_error("cannot write '" + tmp + "': " + std::strerror(errno));
  } catch (const std::exception& e) {
    error = e.what();
  }
  ::close(src);
  ::close(dst);
  if (error.empty() && std::rename(tmp.c_str(), out.c_str()) != 0)
    error = "cannot rename '" + tmp + "' to '" + out + "': " + std::strerror(errno);
  if (!error.empty()) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(error);
  }
#else
  no_openssl();
#endif
}

std::unique_ptr<MappedFile> decrypt_model_bytes(const uint8_t* data, size_t size, const ModelKey& key,
                                                const std::string& name) {
  if (!has_encrypted_model_magic(data, size)) throw std::runtime_error("'" + name + "' is not an encrypted model");
  if (size < kEncryptedHeaderBytes)
    throw std::runtime_error("'" + name + "' is truncated: " + std::to_string(size) + " bytes, shorter than the header");
  Header h;
  h.version = static_cast<uint32_t>(get_le(data + 8, 4));
  h.chunk_size = static_cast<uint32_t>(get_le(data + 12, 4));
  h.plaintext_size = get_le(data + 16, 8);
  if (h.version != kVersion)
    throw std::runtime_error("'" + name + "' is an encrypted model of version " + std::to_string(h.version) +
                             " (this build reads version " + std::to_string(kVersion) + ")");
  try {
    check_chunk_size(h.chunk_size);
  } catch (const std::exception& e) {
    throw std::runtime_error("'" + name + "' has a bad header: " + e.what());
  }
  const uint64_t expected = sealed_size(h.plaintext_size, h.chunk_size);
  if (expected != size)
    throw std::runtime_error("'" + name + "' is truncated or has bytes added: its header announces " +
                             std::to_string(h.plaintext_size) + " bytes of model, " + std::to_string(expected) +
                             " bytes encrypted, and the file has " + std::to_string(size));
#if CITADEL_HAVE_OPENSSL
  std::memcpy(h.salt, data + 24, 32);
  FileKeys keys;
  derive(key, h.salt, keys);
  if (CRYPTO_memcmp(keys.check, data + 56, sizeof keys.check) != 0)
    throw std::runtime_error("'" + name + "' was encrypted with another key (the model key file does not fit it), " +
                             "or its header was altered");
  auto out = MappedFile::anonymous(static_cast<size_t>(h.plaintext_size), name);
  ChunkCipher cipher(keys, data, false);
  const uint64_t n = chunk_count(h.plaintext_size, h.chunk_size);
  const uint8_t* r = data + kEncryptedHeaderBytes;
  uint8_t tag[kEncryptedTagBytes];
  for (uint64_t i = 0; i < n; ++i) {
    const size_t len = static_cast<size_t>(std::min<uint64_t>(h.chunk_size, h.plaintext_size - i * h.chunk_size));
    std::memcpy(tag, r + len, sizeof tag);
    uint8_t none[1];
    uint8_t* w = len ? out->writable() + i * h.chunk_size : none;  // an empty model has no bytes
    if (!cipher.run(i, i + 1 == n, r, len, w, tag))
      throw std::runtime_error("'" + name + "': chunk " + std::to_string(i + 1) + " of " + std::to_string(n) +
                               " fails authentication: the file was modified, damaged or reordered");
    r += len + kEncryptedTagBytes;
  }
  out->seal();
  return out;
#else
  (void)key;
  no_openssl();
#endif
}

std::unique_ptr<MappedFile> decrypt_model_file(const std::string& path, const ModelKey& key) {
  MappedFile sealed(path);  // ciphertext only; unmapped on return
  return decrypt_model_bytes(sealed.data(), sealed.size(), key, path);
}

std::unique_ptr<MappedFile> open_model_file(const std::string& path) {
  if (!is_encrypted_model_file(path)) return std::make_unique<MappedFile>(path);
  const std::string key_file = model_key_file();
  if (key_file.empty())
    throw std::runtime_error("'" + path + "' is an encrypted model: give its key with --model-key-file FILE or "
                             "CITADEL_MODEL_KEY_FILE");
  return decrypt_model_file(path, read_model_key_file(key_file));
}

}  // namespace citadel
