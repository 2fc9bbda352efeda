// Writes safetensors files (and sharded sets with their model.safetensors.index.json): used to
// build Hugging Face test folders and by tools that export weights.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace citadel {

class SafetensorsWriter {
 public:
  // `dtype` as safetensors spells it ("F32", "F16", "BF16", ...); `shape` row-major; bytes copied.
  void add(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape, const void* data,
           size_t nbytes);
  void set_metadata(const std::string& key, const std::string& value);
  std::vector<uint8_t> to_bytes() const;
  void write(const std::string& path) const;
  size_t data_bytes() const;

  // Splits the tensors into shards of about `max_shard_bytes` named model-0000N-of-0000M.safetensors
  // in `dir`, with the index; one shard is written as model.safetensors without an index.
  void write_sharded(const std::string& dir, size_t max_shard_bytes) const;

 private:
  struct Entry {
    std::string name, dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> data;
  };
  std::vector<Entry> entries_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

}  // namespace citadel
