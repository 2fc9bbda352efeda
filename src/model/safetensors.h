// Reader of Hugging Face safetensors files: an 8-byte little-endian header length, a JSON header
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the
// tensor bytes. Mapped read-only; every length, shape and offset is checked against the file, so a
// truncated or hostile file throws FormatError naming the problem. A model may be split into
// shards listed by model.safetensors.index.json ({"weight_map": {"name": "shard file"}}).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/gguf.h"  // FormatError
#include "core/tensor_type.h"

namespace citadel {

class MappedFile;

struct SafetensorsTensor {
  std::string name;
  std::string dtype;            // as written: "F32", "BF16", "I64", ...
  bool computable = false;      // F32, F16 or BF16: `type` is meaningful
  TensorType type = TensorType::F32;
  std::vector<int64_t> shape;   // row-major as written: shape.back() is the contiguous dimension
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  int64_t n_elements() const;
};

class SafetensorsFile {
 public:
  // Maps and parses `path`. Throws std::runtime_error (I/O) or FormatError (content).
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);
  // Parses bytes owned by the caller (they must outlive the object).
  static std::unique_ptr<SafetensorsFile> parse(const uint8_t* data, size_t size, const std::string& name = "<memory>");
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }  // in offset order
  const SafetensorsTensor* find(const std::string& name) const;              // nullptr if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  void parse_all();

  std::string path_;
  std::unique_ptr<MappedFile> file_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::vector<SafetensorsTensor> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// All the safetensors of a model folder: model.safetensors, or the shards named by
// model.safetensors.index.json (each tensor must be in the shard the index names), or else every
// *.safetensors file in the folder. A tensor name may appear only once.
class SafetensorsModel {
 public:
  static std::unique_ptr<SafetensorsModel> open_dir(const std::string& dir);

  const SafetensorsTensor* find(const std::string& name) const;  // nullptr if absent
  std::vector<const SafetensorsTensor*> tensors() const;         // sorted by name
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }

 private:
  void add_file(std::unique_ptr<SafetensorsFile> f);
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafetensorsTensor*> by_name_;
};

}  // namespace citadel
