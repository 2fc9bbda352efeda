// Paged key/value cache: storage is split into blocks of kBlockSize positions shared by all
// sequences; each sequence owns a list of blocks (its block table). Blocks are allocated as a
// sequence grows and returned when it is freed, so many sequences of different lengths fit in
// one fixed pool.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace citadel {

struct HParams;

// What a K/V value is stored as: f32 (exact), or f16 (half the memory and memory traffic of
// attention; llama.cpp's default).
enum class KvType : uint8_t { F32, F16 };
// "f32" / "f16"; anything else throws std::invalid_argument.
KvType parse_kv_type(const std::string& name);

class KvCacheFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class KvCache {
 public:
  static constexpr int64_t kBlockSize = 16;

  // A pool of n_blocks blocks (each kBlockSize positions of every layer's K and V).
  KvCache(const HParams& hp, int64_t n_blocks, KvType type = KvType::F32);
  // A pool large enough for n_seq sequences of n_ctx positions.
  static int64_t blocks_for(int64_t n_ctx, int64_t n_seq) { return n_seq * ((n_ctx + kBlockSize - 1) / kBlockSize); }

  int32_t add_sequence();               // a new, empty sequence id
  void free_sequence(int32_t seq);      // drops its references to its blocks

  // Blocks are reference-counted so that sequences (and a prefix cache) can share full blocks
  // of identical prompt prefixes. A block returns to the pool when its last reference goes.
  const std::vector<int32_t>& blocks(int32_t seq) const { return tables_.at(seq); }
  // Appends `block` (already holding the K/V of the next kBlockSize positions) to an empty or
  // block-aligned sequence, taking a reference.
  void append_shared_block(int32_t seq, int32_t block);
  void retain_block(int32_t block) { ++refs_.at(block); }
  void release_block(int32_t block);
  // Makes positions [0, n_positions) of seq addressable; throws KvCacheFull when the pool is out.
  void reserve(int32_t seq, int64_t n_positions);
  int64_t capacity(int32_t seq) const;  // positions currently addressable

  // Writes the K and V rows (kv_dim() floats each) of position pos, converted to type().
  void store(int64_t layer, int32_t seq, int64_t pos, const float* k, const float* v);
  // Block i of seq (positions kBlockSize * i ..), each value a float (F32) or an fp16 (F16). V:
  // kBlockSize rows of kv_dim() values. K transposed: kv_dim() rows of kBlockSize, position r's
  // value d at d * kBlockSize + r, so that attention scores a block's positions in the lanes of a
  // vector (kernels::AttendBlock).
  const void* k_block(int64_t layer, int32_t seq, int64_t i) const {
    return storage_.data() + offset(0, layer, seq, i * kBlockSize);
  }
  const void* v_block(int64_t layer, int32_t seq, int64_t i) const {
    return storage_.data() + offset(1, layer, seq, i * kBlockSize);
  }
  KvType type() const { return type_; }

  int64_t total_blocks() const { return n_blocks_; }
  int64_t free_blocks() const { return static_cast<int64_t>(free_.size()); }
  int64_t kv_dim() const { return kv_dim_; }
  size_t bytes() const { return storage_.size(); }

 private:
  size_t value_bytes() const { return type_ == KvType::F16 ? 2 : 4; }
  // Byte offset in storage_ of the block of (kind 0: K, 1: V, layer, seq) holding pos.
  size_t offset(int kind, int64_t layer, int32_t seq, int64_t pos) const;

  int64_t n_layer_, kv_dim_, n_blocks_;
  KvType type_;
  std::vector<uint8_t> storage_;  // [kind][layer][block] of kBlockSize x kv_dim values (K transposed)
  std::vector<int32_t> free_;
  std::vector<int32_t> refs_;  // per block
  std::vector<std::vector<int32_t>> tables_;  // per sequence
  std::vector<uint8_t> live_;
};

}  // namespace citadel
