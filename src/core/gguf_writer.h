// Writes GGUF v3 files: metadata in insertion order, then tensor infos, then aligned tensor data.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/gguf.h"

namespace citadel {

class GgufWriter {
 public:
  void set_string(const std::string& key, const std::string& v);
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_u64(const std::string& key, uint64_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_strings(const std::string& key, const std::vector<std::string>& v);
  void set_f32s(const std::string& key, const std::vector<float>& v);
  void set_i32s(const std::string& key, const std::vector<int32_t>& v);
  // Copies an existing value (any type) from another file.
  void set_value(const std::string& key, const GgufValue& v);

  // `data` must hold row_bytes(type, shape[0]) * rows bytes; it is copied.
  void add_tensor(const std::string& name, const std::vector<int64_t>& shape, TensorType type, const void* data,
                  size_t nbytes);

  // A tensor whose bytes are produced only when the file is written (large models are never
  // held in memory whole): `fill` gets a buffer of the tensor's exact size.
  using Filler = std::function<void(uint8_t* dst, size_t nbytes)>;
  void add_tensor_lazy(const std::string& name, const std::vector<int64_t>& shape, TensorType type, Filler fill);
  size_t tensor_count() const { return tensors_.size(); }

  // The whole file as bytes (for tests and in-memory use).
  std::vector<uint8_t> to_bytes() const;
  // Writes to `path` (through a temporary file renamed at the end). Throws on I/O errors.
  void write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> shape;
    TensorType type;
    size_t nbytes;
    std::vector<uint8_t> data;  // empty when `fill` produces it
    Filler fill;
    std::vector<uint8_t> bytes() const;
  };
  static size_t tensor_bytes(const std::string& name, const std::vector<int64_t>& shape, TensorType type);
  void put_header(std::vector<uint8_t>& out) const;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> kv_;  // key -> encoded type + value
  std::vector<Tensor> tensors_;
  size_t alignment_ = 32;
};

}  // namespace citadel
