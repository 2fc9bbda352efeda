#include "model/safetensors_writer.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace citadel {

void SafetensorsWriter::add(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape,
                            const void* data, size_t nbytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  entries_.push_back({name, dtype, shape, std::vector<uint8_t>(p, p + nbytes)});
}

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) {
  metadata_.emplace_back(key, value);
}

size_t SafetensorsWriter::data_bytes() const {
  size_t n = 0;
  for (const Entry& e : entries_) n += e.data.size();
  return n;
}

std::vector<uint8_t> SafetensorsWriter::to_bytes() const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) {
    header["__metadata__"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata_) header["__metadata__"][k] = v;
  }
  size_t offset = 0;
  for (const Entry& e : entries_) {
    header[e.name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.data.size()}}};
    offset += e.data.size();
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8) text += ' ';  // keeps the data 8-byte aligned, as the reference writer does
  std::vector<uint8_t> out(8 + text.size());
  const uint64_t len = text.size();
  std::memcpy(out.data(), &len, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  for (const Entry& e : entries_) out.insert(out.end(), e.data.begin(), e.data.end());
  return out;
}

void SafetensorsWriter::write(const std::string& path) const {
  const std::vector<uint8_t> bytes = to_bytes();
  std::ofstream out(path, std::ios::binary);
  if (!out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
    throw std::runtime_error("cannot write " + path);
}

void SafetensorsWriter::write_sharded(const std::string& dir, size_t max_shard_bytes) const {
  std::vector<SafetensorsWriter> shards(1);
  for (const Entry& e : entries_) {
    if (!shards.back().entries_.empty() && shards.back().data_bytes() + e.data.size() > max_shard_bytes)
      shards.emplace_back();
    shards.back().entries_.push_back(e);
  }
  if (shards.size() == 1) {
    shards[0].metadata_ = metadata_;
    shards[0].write(dir + "/model.safetensors");
    return;
  }
  nlohmann::ordered_json index = {{"metadata", {{"total_size", data_bytes()}}}, {"weight_map", nlohmann::ordered_json::object()}};
  for (size_t i = 0; i < shards.size(); ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    shards[i].metadata_ = metadata_;
    shards[i].write(dir + "/" + name);
    for (const Entry& e : shards[i].entries_) index["weight_map"][e.name] = name;
  }
  std::ofstream(dir + "/model.safetensors.index.json") << index.dump(2) << "\n";
}

}  // namespace citadel
