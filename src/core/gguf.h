// Reader of GGUF files (versions 2 and 3): metadata key/values and tensor infos, over an mmap.
// GGUF is a container format, so it lives in core/ where both model/ (weights) and tokenizer/
// (vocabularies) can read it. Every count, length and offset is checked against the file size:
// a truncated or hostile file throws FormatError naming what is wrong.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor_type.h"

namespace citadel {

class MappedFile;

class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class GgufValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
const char* value_type_name(GgufValueType t);

// One metadata value: a scalar, a string, or an array of scalars / strings.
class GgufValue {
 public:
  GgufValueType type = GgufValueType::UINT8;
  GgufValueType array_type = GgufValueType::UINT8;  // element type when type == ARRAY

  bool is_array() const { return type == GgufValueType::ARRAY; }
  bool is_string() const { return type == GgufValueType::STRING; }
  bool is_integer() const;  // any integer type (not bool, not float)
  bool is_number() const;   // integer or float
  size_t array_size() const;

  // Scalars, with numeric conversion; throw FormatError on a type mismatch.
  int64_t as_int() const;
  double as_double() const;
  bool as_bool() const;
  const std::string& as_string() const;
  // Arrays; throw FormatError when the elements are not of that kind.
  const std::vector<std::string>& as_strings() const;
  const std::vector<int64_t>& as_ints() const;     // integer and bool elements
  const std::vector<double>& as_doubles() const;   // float elements
  std::vector<float> as_floats() const;            // numeric elements, converted

  std::string to_display_string(size_t max_items = 8) const;  // short human-readable form

  // Storage (filled by the reader).
  int64_t int_value = 0;       // integers and bool (uint64 stored bit-for-bit)
  double float_value = 0;      // floats
  std::string string_value;
  std::vector<int64_t> ints;   // integer / bool arrays
  std::vector<double> doubles; // float arrays
  std::vector<std::string> strings;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> shape;  // ne[0] is the contiguous (row) dimension
  TensorType type = TensorType::F32;
  uint64_t offset = 0;         // relative to the start of the data section
  const void* data = nullptr;  // points into the mapping
  size_t nbytes = 0;
  int64_t n_elements() const;
};

class GgufFile {
 public:
  // Maps and parses `path`. Throws std::runtime_error (I/O) or FormatError (content).
  static std::unique_ptr<GgufFile> open(const std::string& path);
  // Parses bytes owned by the caller (they must outlive the object).
  static std::unique_ptr<GgufFile> parse(const uint8_t* data, size_t size, const std::string& name = "<memory>");
  ~GgufFile();

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  size_t file_size() const { return size_; }
  size_t data_offset() const { return data_offset_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(const std::string& key) const;  // nullptr if absent
  bool has(const std::string& key) const { return find(key) != nullptr; }
  // Typed getters: the default when absent; FormatError when present with the wrong type.
  std::string get_string(const std::string& key, const std::string& def = "") const;
  int64_t get_int(const std::string& key, int64_t def) const;
  double get_double(const std::string& key, double def) const;
  bool get_bool(const std::string& key, bool def) const;
  // Required variants: FormatError naming the key when absent.
  std::string require_string(const std::string& key) const;
  int64_t require_int(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;  // nullptr if absent
  // A mapped file's pages inside [p, p + n) leave memory (MappedFile::release); no-op otherwise.
  void release_pages(const void* p, size_t n) const;

 private:
  GgufFile() = default;
  void parse_all();

  std::string path_;
  std::unique_ptr<MappedFile> file_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  uint32_t version_ = 0;
  size_t alignment_ = 32;
  size_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  std::unordered_map<std::string, size_t> kv_index_;
};

}  // namespace citadel
