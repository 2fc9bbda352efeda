// A read-only memory mapping of a whole file (weights are used straight from it), or anonymous
// memory holding bytes made in memory (a decrypted model: core/encrypted_model.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace citadel {

class MappedFile {
 public:
  // Maps `path` read-only; throws std::runtime_error naming the file on failure.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  // `size` bytes of private anonymous memory, backed by no file and left out of core dumps
  // (MADV_DONTDUMP); fill them through writable(), then seal() makes them read-only.
  static std::unique_ptr<MappedFile> anonymous(size_t size, const std::string& name);
  uint8_t* writable() { return anonymous_ && !sealed_ ? const_cast<uint8_t*>(data_) : nullptr; }
  void seal();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Drops the resident pages wholly inside [p, p + n) (a range copied elsewhere): they leave the
  // process's memory and are read from the file again if touched (anonymous memory reads zeros
  // then: release only what is never read again). Anything outside is a no-op.
  void release(const void* p, size_t n) const;

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool anonymous_ = false, sealed_ = false;
};

}  // namespace citadel
