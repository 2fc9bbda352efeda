// A read-only memory mapping of a whole file (weights are used straight from it).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace citadel {

class MappedFile {
 public:
  // Maps `path` read-only; throws std::runtime_error naming the file on failure.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Drops the resident pages wholly inside [p, p + n) (a range copied elsewhere): they leave the
  // process's memory and are read from the file again if touched. Anything outside is a no-op.
  void release(const void* p, size_t n) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace citadel
