#include "model/kv_cache.h"

#include <cstring>
#include <string>

#include "core/kernels/kernels.h"
#include "model/hparams.h"

namespace citadel {

KvType parse_kv_type(const std::string& name) {
  if (name == "f32") return KvType::F32;
  if (name == "f16") return KvType::F16;
  throw std::invalid_argument("KV cache type '" + name + "' is not f32 or f16");
}

KvCache::KvCache(const HParams& hp, int64_t n_blocks, KvType type)
    : n_layer_(hp.n_layer), kv_dim_(hp.kv_dim()), n_blocks_(n_blocks), type_(type) {
  storage_.assign(static_cast<size_t>(2 * n_layer_ * n_blocks_ * kBlockSize * kv_dim_) * value_bytes(), 0);
  for (int64_t b = n_blocks_ - 1; b >= 0; --b) free_.push_back(static_cast<int32_t>(b));
  refs_.assign(static_cast<size_t>(n_blocks_), 0);
}

void KvCache::release_block(int32_t block) {
  if (--refs_.at(block) == 0) free_.push_back(block);
}

void KvCache::append_shared_block(int32_t seq, int32_t block) {
  tables_.at(seq).push_back(block);
  retain_block(block);
}

int32_t KvCache::add_sequence() {
  for (size_t i = 0; i < live_.size(); ++i)
    if (!live_[i]) {
      live_[i] = 1;
      return static_cast<int32_t>(i);
    }
  live_.push_back(1);
  tables_.emplace_back();
  return static_cast<int32_t>(live_.size() - 1);
}

void KvCache::free_sequence(int32_t seq) {
  if (seq < 0 || seq >= static_cast<int32_t>(live_.size()) || !live_[seq]) return;
  for (int32_t b : tables_[seq]) release_block(b);
  tables_[seq].clear();
  live_[seq] = 0;
}

void KvCache::reserve(int32_t seq, int64_t n_positions) {
  if (seq < 0 || seq >= static_cast<int32_t>(live_.size()) || !live_[seq])
    throw std::invalid_argument("unknown KV sequence " + std::to_string(seq));
  auto& table = tables_[seq];
  const int64_t need = (n_positions + kBlockSize - 1) / kBlockSize;
  if (need - static_cast<int64_t>(table.size()) > static_cast<int64_t>(free_.size()))
    throw KvCacheFull("KV cache full: " + std::to_string(n_positions) + " positions need " + std::to_string(need) +
                      " blocks, " + std::to_string(free_.size()) + " free");
  while (static_cast<int64_t>(table.size()) < need) {
    table.push_back(free_.back());
    refs_[free_.back()] = 1;
    free_.pop_back();
  }
}

int64_t KvCache::capacity(int32_t seq) const {
  return static_cast<int64_t>(tables_.at(seq).size()) * kBlockSize;
}

size_t KvCache::offset(int kind, int64_t layer, int32_t seq, int64_t pos) const {
  const int64_t block = tables_[seq][pos / kBlockSize];
  const int64_t index = ((kind * n_layer_ + layer) * n_blocks_ + block) * kBlockSize;
  return static_cast<size_t>(index * kv_dim_) * value_bytes();
}

void KvCache::store(int64_t layer, int32_t seq, int64_t pos, const float* k, const float* v) {
  const int64_t r = pos % kBlockSize;
  uint8_t* keys = storage_.data() + offset(0, layer, seq, pos);
  uint8_t* values = storage_.data() + offset(1, layer, seq, pos) + static_cast<size_t>(r * kv_dim_) * value_bytes();
  auto store_transposed = [&](auto* kt, const auto* in) {
    for (int64_t d = 0; d < kv_dim_; ++d) kt[d * kBlockSize + r] = in[d];
  };
  if (type_ == KvType::F32) {
    store_transposed(reinterpret_cast<float*>(keys), k);
    std::memcpy(values, v, static_cast<size_t>(kv_dim_) * sizeof(float));
    return;
  }
  thread_local std::vector<uint16_t> half;
  half.resize(static_cast<size_t>(kv_dim_));
  kernels::active().to_f16(k, half.data(), kv_dim_);
  store_transposed(reinterpret_cast<uint16_t*>(keys), half.data());
  kernels::active().to_f16(v, reinterpret_cast<uint16_t*>(values), kv_dim_);
}

}  // namespace citadel
