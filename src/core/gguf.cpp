#include "core/gguf.h"

#include <cstring>
#include <limits>
#include <sstream>

#include "core/encrypted_model.h"
#include "core/mapped_file.h"

namespace citadel {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint64_t kMaxStringBytes = 1ull << 30;
constexpr uint32_t kMaxDims = 4;

// Bounds-checked cursor over the file bytes: every read names what it was reading on failure.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, const std::string& file) : data_(data), size_(size), file_(file) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError("GGUF file '" + file_ + "': " + what + " (at byte " + std::to_string(pos_) + " of " +
                      std::to_string(size_) + ")");
  }
  void need(uint64_t n, const char* what) const {
    if (n > size_ - pos_) fail(std::string("truncated while reading ") + what);
  }
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const char* what) {
    uint64_t len = read<uint64_t>(what);
    if (len > kMaxStringBytes) fail(std::string(what) + ": string length " + std::to_string(len) + " is absurd");
    need(len, what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return s;
  }
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& file_;
};

size_t scalar_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::BOOL: return 1;
    case GgufValueType::UINT16: case GgufValueType::INT16: return 2;
    case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::FLOAT32: return 4;
    case GgufValueType::UINT64: case GgufValueType::INT64: case GgufValueType::FLOAT64: return 8;
    default: return 0;
  }
}

bool is_float_type(GgufValueType t) { return t == GgufValueType::FLOAT32 || t == GgufValueType::FLOAT64; }

// Reads one scalar of type `t` into (int, double) storage.
void read_scalar(Cursor& c, GgufValueType t, int64_t* iv, double* fv) {
  switch (t) {
    case GgufValueType::UINT8: *iv = c.read<uint8_t>("uint8 value"); break;
    case GgufValueType::INT8: *iv = c.read<int8_t>("int8 value"); break;
    case GgufValueType::UINT16: *iv = c.read<uint16_t>("uint16 value"); break;
    case GgufValueType::INT16: *iv = c.read<int16_t>("int16 value"); break;
    case GgufValueType::UINT32: *iv = c.read<uint32_t>("uint32 value"); break;
    case GgufValueType::INT32: *iv = c.read<int32_t>("int32 value"); break;
    case GgufValueType::UINT64: *iv = static_cast<int64_t>(c.read<uint64_t>("uint64 value")); break;
    case GgufValueType::INT64: *iv = c.read<int64_t>("int64 value"); break;
    case GgufValueType::BOOL: {
      uint8_t b = c.read<uint8_t>("bool value");
      if (b > 1) c.fail("bool value " + std::to_string(b) + " is neither 0 nor 1");
      *iv = b;
      break;
    }
    case GgufValueType::FLOAT32: *fv = c.read<float>("float32 value"); break;
    case GgufValueType::FLOAT64: *fv = c.read<double>("float64 value"); break;
    default: c.fail("not a scalar type");
  }
}

GgufValueType read_value_type(Cursor& c, const std::string& key) {
  uint32_t t = c.read<uint32_t>("value type");
  if (t > static_cast<uint32_t>(GgufValueType::FLOAT64))
    c.fail("key '" + key + "' has unknown value type " + std::to_string(t));
  return static_cast<GgufValueType>(t);
}

GgufValue read_value(Cursor& c, GgufValueType type, const std::string& key) {
  GgufValue v;
  v.type = type;
  if (type == GgufValueType::STRING) {
    v.string_value = c.read_string("string value");
  } else if (type == GgufValueType::ARRAY) {
    v.array_type = read_value_type(c, key);
    uint64_t n = c.read<uint64_t>("array length");
    if (v.array_type == GgufValueType::ARRAY) c.fail("key '" + key + "': nested arrays are not supported");
    if (v.array_type == GgufValueType::STRING) {
      // Each string needs at least its 8-byte length: bounds n before reserving.
      if (n > c.remaining() / 8) c.fail("key '" + key + "': array of " + std::to_string(n) + " strings exceeds the file");
      v.strings.reserve(n);
      for (uint64_t i = 0; i < n; ++i) v.strings.push_back(c.read_string("string array element"));
    } else {
      size_t es = scalar_size(v.array_type);
      if (n > c.remaining() / es) c.fail("key '" + key + "': array of " + std::to_string(n) + " elements exceeds the file");
      if (is_float_type(v.array_type)) {
        v.doubles.resize(n);
        for (uint64_t i = 0; i < n; ++i) { int64_t unused; read_scalar(c, v.array_type, &unused, &v.doubles[i]); }
      } else {
        v.ints.resize(n);
        for (uint64_t i = 0; i < n; ++i) { double unused; read_scalar(c, v.array_type, &v.ints[i], &unused); }
      }
    }
  } else {
    read_scalar(c, type, &v.int_value, &v.float_value);
  }
  return v;
}

[[noreturn]] void type_mismatch(const GgufValue& v, const char* wanted) {
  throw FormatError(std::string("metadata value of type ") + value_type_name(v.type) + " used as " + wanted);
}

}  // namespace

const char* value_type_name(GgufValueType t) {
  static const char* names[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                                "bool", "string", "array", "uint64", "int64", "float64"};
  auto i = static_cast<uint32_t>(t);
  return i < 13 ? names[i] : "unknown";
}

bool GgufValue::is_integer() const {
  return !is_array() && !is_string() && type != GgufValueType::BOOL && !is_float_type(type);
}
bool GgufValue::is_number() const { return is_integer() || (!is_array() && is_float_type(type)); }

size_t GgufValue::array_size() const {
  if (!is_array()) return 0;
  if (array_type == GgufValueType::STRING) return strings.size();
  return is_float_type(array_type) ? doubles.size() : ints.size();
}

int64_t GgufValue::as_int() const {
  if (is_integer() || type == GgufValueType::BOOL) return int_value;
  if (is_float_type(type)) return static_cast<int64_t>(float_value);
  type_mismatch(*this, "integer");
}
double GgufValue::as_double() const {
  if (is_float_type(type)) return float_value;
  if (is_integer()) return static_cast<double>(int_value);
  type_mismatch(*this, "number");
}
bool GgufValue::as_bool() const {
  if (type == GgufValueType::BOOL || is_integer()) return int_value != 0;
  type_mismatch(*this, "bool");
}
const std::string& GgufValue::as_string() const {
  if (!is_string()) type_mismatch(*this, "string");
  return string_value;
}
const std::vector<std::string>& GgufValue::as_strings() const {
  if (!is_array() || array_type != GgufValueType::STRING) type_mismatch(*this, "string array");
  return strings;
}
const std::vector<int64_t>& GgufValue::as_ints() const {
  if (!is_array() || array_type == GgufValueType::STRING || is_float_type(array_type))
    type_mismatch(*this, "integer array");
  return ints;
}
const std::vector<double>& GgufValue::as_doubles() const {
  if (!is_array() || !is_float_type(array_type)) type_mismatch(*this, "float array");
  return doubles;
}
std::vector<float> GgufValue::as_floats() const {
  if (!is_array() || array_type == GgufValueType::STRING) type_mismatch(*this, "numeric array");
  if (is_float_type(array_type)) return {doubles.begin(), doubles.end()};
  return {ints.begin(), ints.end()};
}

std::string GgufValue::to_display_string(size_t max_items) const {
  std::ostringstream os;
  auto quote = [](const std::string& s) {
    std::string out = "\"";
    for (char ch : s.size() > 60 ? s.substr(0, 60) + "..." : s) out += (ch == '\n') ? std::string("\\n") : std::string(1, ch);
    return out + "\"";
  };
  if (is_string()) return quote(string_value);
  if (type == GgufValueType::BOOL) return int_value ? "true" : "false";
  if (is_float_type(type)) { os << float_value; return os.str(); }
  if (!is_array()) {
    if (type == GgufValueType::UINT64) os << static_cast<uint64_t>(int_value); else os << int_value;
    return os.str();
  }
  size_t n = array_size();
  os << "[" << value_type_name(array_type) << " x " << n << "] ";
  for (size_t i = 0; i < n && i < max_items; ++i) {
    if (i) os << ", ";
    if (array_type == GgufValueType::STRING) os << quote(strings[i]);
    else if (is_float_type(array_type)) os << doubles[i];
    else os << ints[i];
  }
  if (n > max_items) os << ", ...";
  return os.str();
}

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = path;
  f->file_ = open_model_file(path);  // plain: mapped; encrypted: decrypted into memory
  f->data_ = f->file_->data();
  f->size_ = f->file_->size();
  f->parse_all();
  return f;
}

std::unique_ptr<GgufFile> GgufFile::parse(const uint8_t* data, size_t size, const std::string& name) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = name;
  f->data_ = data;
  f->size_ = size;
  f->parse_all();
  return f;
}

GgufFile::~GgufFile() = default;

void GgufFile::parse_all() {
  Cursor c(data_, size_, path_);
  if (size_ < 4 || c.read<uint32_t>("magic") != kMagic) {
    throw FormatError("'" + path_ + "' is not a GGUF file (bad magic)");
  }
  version_ = c.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3)
    c.fail("unsupported GGUF version " + std::to_string(version_) + " (supported: 2, 3)");
  uint64_t n_tensors = c.read<uint64_t>("tensor count");
  uint64_t n_kv = c.read<uint64_t>("metadata count");
  // Each key/value takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8+4+8+4+8.
  if (n_kv > c.remaining() / 13) c.fail("metadata count " + std::to_string(n_kv) + " exceeds the file size");
  if (n_tensors > c.remaining() / 32) c.fail("tensor count " + std::to_string(n_tensors) + " exceeds the file size");

  kv_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.read_string("metadata key");
    GgufValueType type = read_value_type(c, key);
    if (kv_index_.count(key)) c.fail("duplicate metadata key '" + key + "'");
    kv_index_.emplace(key, kv_.size());
    kv_.emplace_back(key, read_value(c, type, key));
  }
  if (const GgufValue* a = find("general.alignment")) {
    if (!a->is_integer()) c.fail("general.alignment is not an integer");
    int64_t al = a->int_value;
    if (al <= 0 || al > (1 << 20) || (al & (al - 1)) != 0)
      c.fail("general.alignment " + std::to_string(al) + " is not a power of two");
    alignment_ = static_cast<size_t>(al);
  }

  tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = c.read_string("tensor name");
    uint32_t n_dims = c.read<uint32_t>("tensor dimension count");
    if (n_dims == 0 || n_dims > kMaxDims)
      c.fail("tensor '" + t.name + "' has " + std::to_string(n_dims) + " dimensions (1 to 4 allowed)");
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = c.read<uint64_t>("tensor dimension");
      if (ne == 0 || ne > (1ull << 40)) c.fail("tensor '" + t.name + "' has dimension " + std::to_string(ne));
      t.shape.push_back(static_cast<int64_t>(ne));
    }
    uint32_t type_id = c.read<uint32_t>("tensor type");
    const TypeTraits* traits = find_type_traits(type_id);
    if (!traits) c.fail("tensor '" + t.name + "' has unknown type id " + std::to_string(type_id));
    t.type = static_cast<TensorType>(type_id);
    t.offset = c.read<uint64_t>("tensor data offset");
    if (t.shape[0] % traits->block_size != 0)
      c.fail("tensor '" + t.name + "' row of " + std::to_string(t.shape[0]) + " values is not a multiple of the " +
             traits->name + " block size");
    // Element count, guarding against overflow.
    uint64_t n_el = 1;
    for (int64_t d : t.shape) {
      if (n_el > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d))
        c.fail("tensor '" + t.name + "' element count overflows");
      n_el *= static_cast<uint64_t>(d);
    }
    uint64_t blocks = n_el / traits->block_size;
    if (blocks > (1ull << 50) / traits->block_bytes) c.fail("tensor '" + t.name + "' is absurdly large");
    t.nbytes = blocks * traits->block_bytes;
    if (tensor_index_.count(t.name)) c.fail("duplicate tensor name '" + t.name + "'");
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  uint64_t data_start = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  // A vocabulary-only file may end right after the infos.
  data_offset_ = data_start;
  for (auto& t : tensors_) {
    if (t.offset % alignment_ != 0)
      c.fail("tensor '" + t.name + "' data offset " + std::to_string(t.offset) + " is not aligned to " +
             std::to_string(alignment_));
    if (data_start > size_ || t.offset > size_ - data_start || t.nbytes > size_ - data_start - t.offset)
      c.fail("tensor '" + t.name + "' data (offset " + std::to_string(t.offset) + ", " + std::to_string(t.nbytes) +
             " bytes) lies past the end of the file");
    t.data = data_ + data_start + t.offset;
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

std::string GgufFile::get_string(const std::string& key, const std::string& def) const {
  const GgufValue* v = find(key);
  if (!v) return def;
  if (!v->is_string()) throw FormatError("metadata '" + key + "' is " + value_type_name(v->type) + ", expected string");
  return v->string_value;
}

int64_t GgufFile::get_int(const std::string& key, int64_t def) const {
  const GgufValue* v = find(key);
  if (!v) return def;
  if (!v->is_integer() && v->type != GgufValueType::BOOL)
    throw FormatError("metadata '" + key + "' is " + value_type_name(v->type) + ", expected integer");
  return v->int_value;
}

double GgufFile::get_double(const std::string& key, double def) const {
  const GgufValue* v = find(key);
  if (!v) return def;
  if (!v->is_number()) throw FormatError("metadata '" + key + "' is " + value_type_name(v->type) + ", expected number");
  return v->as_double();
}

bool GgufFile::get_bool(const std::string& key, bool def) const {
  const GgufValue* v = find(key);
  if (!v) return def;
  if (v->type != GgufValueType::BOOL && !v->is_integer())
    throw FormatError("metadata '" + key + "' is " + value_type_name(v->type) + ", expected bool");
  return v->int_value != 0;
}

std::string GgufFile::require_string(const std::string& key) const {
  if (!has(key)) throw FormatError("GGUF file '" + path_ + "' lacks metadata '" + key + "'");
  return get_string(key);
}

int64_t GgufFile::require_int(const std::string& key) const {
  if (!has(key)) throw FormatError("GGUF file '" + path_ + "' lacks metadata '" + key + "'");
  return get_int(key, 0);
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

void GgufFile::release_pages(const void* p, size_t n) const {
  if (file_) file_->release(p, n);
}

}  // namespace citadel
