#include "model/weight_source.h"

#include <cstring>

#include "core/gguf.h"
#include "core/quant.h"

namespace citadel {

int64_t SourceTensor::rows() const {
  int64_t n = 1;
  for (size_t d = 1; d < ne.size(); ++d) n *= ne[d];
  return n;
}

const uint8_t* SourceTensor::row(int64_t r) const {
  int64_t src = r;
  if (permute_heads > 0) {
    // GGUF row r = (head h, pair i, member j) comes from HF row (h, j, i): HF keeps the first
    // halves of all pairs, then the second halves, within each head.
    const int64_t head = rows() / permute_heads, half = head / 2;
    const int64_t h = r / head, rem = r % head, i = rem / 2, j = rem % 2;
    src = h * head + j * half + i;
  }
  return data + src * row_size();
}

void SourceTensor::row_f32(int64_t r, float* out) const {
  const uint8_t* p = row(r);
  if (type == TensorType::F32) {  // memcpy: the source may be unaligned
    std::memcpy(out, p, cols() * sizeof(float));
    return;
  }
  dequantize_row(type, p, out, cols());
}

const uint8_t* WeightSource::own(std::vector<uint8_t> bytes) {
  auto holder = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  keep_alive.push_back(holder);
  return holder->data();
}

size_t WeightSource::source_bytes() const {
  size_t n = 0;
  for (const SourceTensor& t : tensors) n += t.row_size() * t.rows();
  return n;
}

std::unique_ptr<WeightSource> open_gguf_source(const std::string& path) {
  auto src = std::make_unique<WeightSource>();
  std::shared_ptr<GgufFile> f = GgufFile::open(path);
  src->description = path;
  src->keep_alive.push_back(f);
  for (const auto& [key, value] : f->metadata()) src->metadata.set_value(key, value);
  const std::string arch = f->get_string("general.architecture");
  src->n_layer = static_cast<int>(f->get_int(arch + ".block_count", 0));
  for (const GgufTensorInfo& info : f->tensors()) {
    if (!quant_supported(info.type)) throw FormatError(path + ": tensor '" + info.name + "' has type " + type_name(info.type) + ", which Citadel cannot convert");
    SourceTensor t;
    t.name = info.name;
    t.ne = info.shape;
    t.type = info.type;
    t.data = static_cast<const uint8_t*>(info.data);
    src->tensors.push_back(std::move(t));
  }
  return src;
}

size_t write_gguf(const WeightSource& src, const FileType& ft, const std::string& path, ThreadPool& pool,
                  const std::function<void(size_t, size_t)>& progress) {
  GgufWriter w;
  const std::vector<uint8_t> meta_bytes = src.metadata.to_bytes();
  auto meta = GgufFile::parse(meta_bytes.data(), meta_bytes.size(), "<metadata>");
  for (const auto& [key, value] : meta->metadata()) {
    if (key == "general.architecture") {
      w.set_value(key, value);
      w.set_u32("general.file_type", static_cast<uint32_t>(gguf_file_type_id(ft)));
      w.set_u32("general.quantization_version", 2);
    } else if (key != "general.file_type" && key != "general.quantization_version") {
      w.set_value(key, value);
    }
  }
  size_t total = 0, done = 0;
  const size_t count = src.tensors.size();
  for (const SourceTensor& t : src.tensors) {
    const TensorType type = choose_tensor_type(ft, t.name, t.cols(), t.n_dims(), src.n_layer);
    total += row_bytes(type, t.cols()) * t.rows();
    w.add_tensor_lazy(t.name, t.ne, type, [&t, type, &pool, &progress, &done, count](uint8_t* dst, size_t) {
      const size_t out_row = row_bytes(type, t.cols());
      pool.parallel_for(t.rows(), [&](int64_t r0, int64_t r1) {
        std::vector<float> row(t.cols());
        for (int64_t r = r0; r < r1; ++r) {
          if (type == t.type) {
            std::memcpy(dst + r * out_row, t.row(r), out_row);
            continue;
          }
          t.row_f32(r, row.data());
          quantize_row(type, row.data(), dst + r * out_row, t.cols());
        }
      });
      if (progress) progress(++done, count);
    });
  }
  w.write(path);
  return total;
}

ModelParts to_model_parts(std::unique_ptr<WeightSource> src) {
  struct Storage {
    std::unique_ptr<WeightSource> source;
    std::vector<uint8_t> metadata_bytes;
    std::vector<std::vector<uint8_t>> copies;
  };
  auto storage = std::make_shared<Storage>();
  storage->metadata_bytes = src->metadata.to_bytes();
  ModelParts parts;
  parts.metadata = GgufFile::parse(storage->metadata_bytes.data(), storage->metadata_bytes.size(), src->description);
  for (const SourceTensor& s : src->tensors) {
    Tensor t;
    t.name = s.name;
    for (size_t d = 0; d < s.ne.size() && d < 4; ++d) t.ne[d] = s.ne[d];
    const bool aligned = reinterpret_cast<uintptr_t>(s.data) % type_traits(s.type).block_bytes == 0;
    if (s.n_dims() >= 2 && s.permute_heads == 0 && aligned) {
      t.type = s.type;  // used in place, straight from the mapping
      t.data = s.data;
    } else {
      // Norms and biases must be f32; permuted or misaligned matrices are copied row by row.
      t.type = s.n_dims() >= 2 ? s.type : TensorType::F32;
      const size_t out_row = row_bytes(t.type, s.cols());
      std::vector<uint8_t>& copy = storage->copies.emplace_back(out_row * s.rows());
      std::vector<float> row(s.cols());
      for (int64_t r = 0; r < s.rows(); ++r) {
        if (t.type == s.type) {
          std::memcpy(copy.data() + r * out_row, s.row(r), out_row);
        } else {
          s.row_f32(r, row.data());
          std::memcpy(copy.data() + r * out_row, row.data(), out_row);
        }
      }
      t.data = copy.data();
    }
    parts.weight_bytes += row_bytes(t.type, s.cols()) * s.rows();
    parts.tensors.add(t);
  }
  storage->source = std::move(src);
  parts.storage = storage;
  return parts;
}

}  // namespace citadel
