// Reuse of KV blocks across requests that start with the same tokens (a shared system prompt,
// the earlier turns of a chat). Entries are full KV blocks keyed by a hash chained over the
// tokens of every block before them; the cache holds one reference per block, and releases the
// least recently used entries when the pool runs short.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "model/kv_cache.h"

namespace citadel {

class PrefixCache {
 public:
  explicit PrefixCache(KvCache& kv) : kv_(kv) {}
  ~PrefixCache();

  // Appends to the empty sequence `seq` the cached blocks that hold the leading full blocks of
  // `tokens`, covering at most `max_tokens` positions. Returns the positions covered. `salt`
  // separates what else decides the K/V (the LoRA adapters, LoraStack::cache_key(); 0: none).
  int64_t attach(int32_t seq, const std::vector<int32_t>& tokens, int64_t max_tokens, uint64_t salt = 0);
  // Offers the full blocks of the first n_tokens tokens of `seq` (KV already computed).
  void insert(int32_t seq, const std::vector<int32_t>& tokens, int64_t n_tokens, uint64_t salt = 0);
  // Drops least recently used entries until the pool has `blocks` free blocks or the cache is empty.
  void evict_until_free(int64_t blocks);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t parent;
    std::vector<int32_t> tokens;  // this block's tokens (checked against hash collisions)
    int32_t block;
    uint64_t last_used;
  };
  static uint64_t chain(uint64_t parent, const int32_t* tokens);

  KvCache& kv_;
  std::unordered_map<uint64_t, Entry> entries_;
  uint64_t clock_ = 0;
};

}  // namespace citadel
