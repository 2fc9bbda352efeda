#include "core/gguf_writer.h"

#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace citadel {
namespace {

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}
void put_str(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}
std::vector<uint8_t> typed(GgufValueType t) {
  std::vector<uint8_t> out;
  put<uint32_t>(out, static_cast<uint32_t>(t));
  return out;
}
void put_scalar(std::vector<uint8_t>& out, GgufValueType t, int64_t iv, double fv) {
  switch (t) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::BOOL: put<uint8_t>(out, uint8_t(iv)); break;
    case GgufValueType::UINT16: case GgufValueType::INT16: put<uint16_t>(out, uint16_t(iv)); break;
    case GgufValueType::UINT32: case GgufValueType::INT32: put<uint32_t>(out, uint32_t(iv)); break;
    case GgufValueType::UINT64: case GgufValueType::INT64: put<uint64_t>(out, uint64_t(iv)); break;
    case GgufValueType::FLOAT32: put<float>(out, float(fv)); break;
    case GgufValueType::FLOAT64: put<double>(out, fv); break;
    default: throw std::invalid_argument("not a scalar GGUF type");
  }
}

}  // namespace

#define CITADEL_SETTER(fn, T, gtype, expr)                     \
  void GgufWriter::fn(const std::string& key, T v) {           \
    auto bytes = typed(GgufValueType::gtype);                  \
    expr;                                                      \
    kv_.emplace_back(key, std::move(bytes));                   \
  }
CITADEL_SETTER(set_string, const std::string&, STRING, put_str(bytes, v))
CITADEL_SETTER(set_u32, uint32_t, UINT32, put<uint32_t>(bytes, v))
CITADEL_SETTER(set_i32, int32_t, INT32, put<int32_t>(bytes, v))
CITADEL_SETTER(set_u64, uint64_t, UINT64, put<uint64_t>(bytes, v))
CITADEL_SETTER(set_f32, float, FLOAT32, put<float>(bytes, v))
CITADEL_SETTER(set_bool, bool, BOOL, put<uint8_t>(bytes, v ? 1 : 0))
#undef CITADEL_SETTER

void GgufWriter::set_strings(const std::string& key, const std::vector<std::string>& v) {
  auto bytes = typed(GgufValueType::ARRAY);
  put<uint32_t>(bytes, static_cast<uint32_t>(GgufValueType::STRING));
  put<uint64_t>(bytes, v.size());
  for (const auto& s : v) put_str(bytes, s);
  kv_.emplace_back(key, std::move(bytes));
}

void GgufWriter::set_f32s(const std::string& key, const std::vector<float>& v) {
  auto bytes = typed(GgufValueType::ARRAY);
  put<uint32_t>(bytes, static_cast<uint32_t>(GgufValueType::FLOAT32));
  put<uint64_t>(bytes, v.size());
  for (float f : v) put<float>(bytes, f);
  kv_.emplace_back(key, std::move(bytes));
}

void GgufWriter::set_i32s(const std::string& key, const std::vector<int32_t>& v) {
  auto bytes = typed(GgufValueType::ARRAY);
  put<uint32_t>(bytes, static_cast<uint32_t>(GgufValueType::INT32));
  put<uint64_t>(bytes, v.size());
  for (int32_t i : v) put<int32_t>(bytes, i);
  kv_.emplace_back(key, std::move(bytes));
}

void GgufWriter::set_value(const std::string& key, const GgufValue& v) {
  auto bytes = typed(v.type);
  if (v.is_string()) {
    put_str(bytes, v.string_value);
  } else if (v.is_array()) {
    put<uint32_t>(bytes, static_cast<uint32_t>(v.array_type));
    put<uint64_t>(bytes, v.array_size());
    if (v.array_type == GgufValueType::STRING) {
      for (const auto& s : v.strings) put_str(bytes, s);
    } else {
      for (size_t i = 0; i < v.array_size(); ++i)
        put_scalar(bytes, v.array_type, v.ints.empty() ? 0 : v.ints[i], v.doubles.empty() ? 0 : v.doubles[i]);
    }
  } else {
    put_scalar(bytes, v.type, v.int_value, v.float_value);
  }
  if (key == "general.alignment") alignment_ = static_cast<size_t>(v.as_int());
  kv_.emplace_back(key, std::move(bytes));
}

size_t GgufWriter::tensor_bytes(const std::string& name, const std::vector<int64_t>& shape, TensorType type) {
  if (shape.empty() || shape.size() > 4) throw std::invalid_argument("tensor '" + name + "' must have 1 to 4 dimensions");
  int64_t rows = 1;
  for (size_t i = 1; i < shape.size(); ++i) rows *= shape[i];
  return row_bytes(type, shape[0]) * static_cast<size_t>(rows);
}

void GgufWriter::add_tensor(const std::string& name, const std::vector<int64_t>& shape, TensorType type,
                            const void* data, size_t nbytes) {
  size_t expected = tensor_bytes(name, shape, type);
  if (nbytes != expected)
    throw std::invalid_argument("tensor '" + name + "': " + std::to_string(nbytes) + " bytes given, " +
                                std::to_string(expected) + " expected");
  const auto* p = static_cast<const uint8_t*>(data);
  tensors_.push_back({name, shape, type, nbytes, std::vector<uint8_t>(p, p + nbytes), nullptr});
}

void GgufWriter::add_tensor_lazy(const std::string& name, const std::vector<int64_t>& shape, TensorType type,
                                 Filler fill) {
  tensors_.push_back({name, shape, type, tensor_bytes(name, shape, type), {}, std::move(fill)});
}

std::vector<uint8_t> GgufWriter::Tensor::bytes() const {
  if (!fill) return data;
  std::vector<uint8_t> out(nbytes);
  fill(out.data(), nbytes);
  return out;
}

void GgufWriter::put_header(std::vector<uint8_t>& out) const {
  put<uint32_t>(out, 0x46554747);
  put<uint32_t>(out, 3);
  put<uint64_t>(out, tensors_.size());
  put<uint64_t>(out, kv_.size());
  for (const auto& [key, bytes] : kv_) {
    put_str(out, key);
    out.insert(out.end(), bytes.begin(), bytes.end());
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_str(out, t.name);
    put<uint32_t>(out, static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) put<uint64_t>(out, static_cast<uint64_t>(d));
    put<uint32_t>(out, static_cast<uint32_t>(t.type));
    put<uint64_t>(out, offset);
    offset += (t.nbytes + alignment_ - 1) / alignment_ * alignment_;
  }
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
  std::vector<uint8_t> out;
  put_header(out);
  for (const auto& t : tensors_) {
    out.resize((out.size() + alignment_ - 1) / alignment_ * alignment_, 0);
    std::vector<uint8_t> bytes = t.bytes();
    out.insert(out.end(), bytes.begin(), bytes.end());
  }
  if (!tensors_.empty()) out.resize((out.size() + alignment_ - 1) / alignment_ * alignment_, 0);
  return out;
}

void GgufWriter::write(const std::string& path) const {
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot create '" + tmp + "': " + std::strerror(errno));
  std::vector<uint8_t> header;
  put_header(header);
  bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size();
  size_t pos = header.size();
  const std::vector<uint8_t> zeros(alignment_, 0);
  auto pad_to_alignment = [&] {
    size_t pad = (alignment_ - pos % alignment_) % alignment_;
    ok = ok && std::fwrite(zeros.data(), 1, pad, f) == pad;
    pos += pad;
  };
  for (const auto& t : tensors_) {
    pad_to_alignment();
    std::vector<uint8_t> bytes = t.bytes();
    ok = ok && std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    pos += bytes.size();
  }
  if (!tensors_.empty()) pad_to_alignment();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
  }
}

}  // namespace citadel
