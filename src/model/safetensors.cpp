#include "model/safetensors.h"

#include <dirent.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/mapped_file.h"

namespace citadel {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeader = 100ull << 20;  // the reference implementation's limit
constexpr int kMaxDims = 8;

struct DtypeInfo {
  const char* name;
  size_t size;
  bool computable;
  TensorType type;
};
constexpr DtypeInfo kDtypes[] = {
    {"F32", 4, true, TensorType::F32},   {"F16", 2, true, TensorType::F16},   {"BF16", 2, true, TensorType::BF16},
    {"F64", 8, false, TensorType::F32},  {"I64", 8, false, TensorType::F32},  {"U64", 8, false, TensorType::F32},
    {"I32", 4, false, TensorType::F32},  {"U32", 4, false, TensorType::F32},  {"I16", 2, false, TensorType::F32},
    {"U16", 2, false, TensorType::F32},  {"I8", 1, false, TensorType::F32},   {"U8", 1, false, TensorType::F32},
    {"BOOL", 1, false, TensorType::F32}, {"F8_E4M3", 1, false, TensorType::F32}, {"F8_E5M2", 1, false, TensorType::F32},
};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const DtypeInfo& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return true;
  *out = a * b;
  return false;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace

int64_t SafetensorsTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile::~SafetensorsFile() = default;

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->file_ = std::make_unique<MappedFile>(path);
  f->data_ = f->file_->data();
  f->size_ = f->file_->size();
  f->parse_all();
  return f;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::parse(const uint8_t* data, size_t size, const std::string& name) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = name;
  f->data_ = data;
  f->size_ = size;
  f->parse_all();
  return f;
}

void SafetensorsFile::parse_all() {
  auto fail = [&](const std::string& what) { return FormatError(path_ + ": " + what); };
  if (size_ < 8) throw fail("too short for a safetensors header (" + std::to_string(size_) + " bytes)");
  uint64_t header_len = 0;
  std::memcpy(&header_len, data_, 8);  // little-endian hosts only, as the GGUF reader
  if (header_len > kMaxHeader) throw fail("header length " + std::to_string(header_len) + " exceeds 100 MiB");
  if (header_len > size_ - 8)
    throw fail("header length " + std::to_string(header_len) + " runs past the end of the file (" +
               std::to_string(size_) + " bytes)");
  const char* text = reinterpret_cast<const char*>(data_ + 8);
  json header;
  try {
    header = json::parse(text, text + header_len);
  } catch (const json::exception& e) {
    throw fail(std::string("malformed JSON header: ") + e.what());
  }
  if (!header.is_object()) throw fail("the header is not a JSON object");
  const uint8_t* body = data_ + 8 + header_len;
  const uint64_t body_size = size_ - 8 - header_len;

  for (const auto& item : header.items()) {
    const std::string& name = item.key();  // not a structured binding: lambdas below capture it
    const json& entry = item.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) throw fail("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw fail("__metadata__['" + k + "'] is not a string");
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& what) { return fail("tensor '" + name + "': " + what); };
    if (!entry.is_object()) throw bad("entry is not an object");
    auto dtype_it = entry.find("dtype"), shape_it = entry.find("shape"), off_it = entry.find("data_offsets");
    if (dtype_it == entry.end() || !dtype_it->is_string()) throw bad("no dtype string");
    if (shape_it == entry.end() || !shape_it->is_array()) throw bad("no shape array");
    if (off_it == entry.end() || !off_it->is_array() || off_it->size() != 2) throw bad("data_offsets is not [begin, end]");
    SafetensorsTensor t;
    t.name = name;
    t.dtype = dtype_it->get<std::string>();
    const DtypeInfo* dt = find_dtype(t.dtype);
    if (!dt) throw bad("unknown dtype '" + t.dtype + "'");
    t.computable = dt->computable;
    t.type = dt->type;
    if (shape_it->size() > kMaxDims) throw bad("more than " + std::to_string(kMaxDims) + " dimensions");
    uint64_t n_elements = 1;
    for (const json& d : *shape_it) {
      if (!d.is_number_unsigned()) throw bad("shape holds a value that is not a non-negative integer");
      const uint64_t v = d.get<uint64_t>();
      if (v > (1ull << 40) || mul_overflows(n_elements, v, &n_elements)) throw bad("shape is too large");
      t.shape.push_back(static_cast<int64_t>(v));
    }
    const json& b = (*off_it)[0];
    const json& e = (*off_it)[1];
    if (!b.is_number_unsigned() || !e.is_number_unsigned()) throw bad("data_offsets are not non-negative integers");
    const uint64_t begin = b.get<uint64_t>(), end = e.get<uint64_t>();
    if (begin > end) throw bad("data_offsets begin " + std::to_string(begin) + " > end " + std::to_string(end));
    if (end > body_size)
      throw bad("data_offsets end " + std::to_string(end) + " runs past the data section (" + std::to_string(body_size) +
                " bytes)");
    uint64_t expect = 0;
    if (mul_overflows(n_elements, dt->size, &expect) || expect != end - begin)
      throw bad("holds " + std::to_string(end - begin) + " bytes, but its dtype and shape need " +
                std::to_string(n_elements) + " x " + std::to_string(dt->size));
    t.data = body + begin;
    t.nbytes = static_cast<size_t>(end - begin);
    tensors_.push_back(std::move(t));
  }
  std::sort(tensors_.begin(), tensors_.end(), [](const auto& x, const auto& y) { return x.data < y.data; });
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (i > 0 && tensors_[i].data < tensors_[i - 1].data + tensors_[i - 1].nbytes)
      throw fail("tensors '" + tensors_[i - 1].name + "' and '" + tensors_[i].name + "' overlap");
    index_[tensors_[i].name] = i;
  }
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::unique_ptr<SafetensorsModel> SafetensorsModel::open_dir(const std::string& dir) {
  auto m = std::make_unique<SafetensorsModel>();
  const std::string index_path = dir + "/model.safetensors.index.json";
  if (file_exists(index_path)) {
    json index;
    try {
      index = json::parse(read_text(index_path));
    } catch (const json::exception& e) {
      throw FormatError(index_path + ": malformed JSON: " + e.what());
    }
    auto wm = index.is_object() ? index.find("weight_map") : index.end();
    if (!index.is_object() || wm == index.end() || !wm->is_object())
      throw FormatError(index_path + ": no weight_map object");
    std::map<std::string, std::vector<std::string>> by_shard;
    for (const auto& [name, shard] : wm->items()) {
      if (!shard.is_string()) throw FormatError(index_path + ": weight_map['" + name + "'] is not a file name");
      const std::string s = shard.get<std::string>();
      if (s.empty() || s.find('/') != std::string::npos || s == "." || s == "..")
        throw FormatError(index_path + ": shard name '" + s + "' is not a plain file name");
      by_shard[s].push_back(name);
    }
    for (const auto& [shard, names] : by_shard) {
      auto f = SafetensorsFile::open(dir + "/" + shard);
      for (const std::string& n : names)
        if (!f->find(n)) throw FormatError(index_path + ": tensor '" + n + "' is not in " + shard + " as the index says");
      m->add_file(std::move(f));
    }
    return m;
  }
  if (file_exists(dir + "/model.safetensors")) {
    m->add_file(SafetensorsFile::open(dir + "/model.safetensors"));
    return m;
  }
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n.size() > 12 && n.compare(n.size() - 12, 12, ".safetensors") == 0) names.push_back(n);
    }
    ::closedir(d);
  } else {
    throw std::runtime_error("cannot open directory " + dir);
  }
  if (names.empty()) throw FormatError(dir + ": no *.safetensors files");
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) m->add_file(SafetensorsFile::open(dir + "/" + n));
  return m;
}

void SafetensorsModel::add_file(std::unique_ptr<SafetensorsFile> f) {
  for (const SafetensorsTensor& t : f->tensors()) {
    if (by_name_.count(t.name))
      throw FormatError(f->path() + ": tensor '" + t.name + "' is also in another shard");
    by_name_[t.name] = &t;
  }
  files_.push_back(std::move(f));
}

const SafetensorsTensor* SafetensorsModel::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<const SafetensorsTensor*> SafetensorsModel::tensors() const {
  std::vector<const SafetensorsTensor*> out;
  for (const auto& [name, t] : by_name_) out.push_back(t);
  return out;
}

}  // namespace citadel
