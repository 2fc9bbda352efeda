#include "engine/prefix_cache.h"

#include <algorithm>

namespace citadel {

PrefixCache::~PrefixCache() {
  for (auto& [key, e] : entries_) kv_.release_block(e.block);
}

uint64_t PrefixCache::chain(uint64_t parent, const int32_t* tokens) {
  uint64_t h = parent ^ 0x9E3779B97F4A7C15ull;
  for (int64_t i = 0; i < KvCache::kBlockSize; ++i) {
    h ^= static_cast<uint32_t>(tokens[i]);
    h *= 0x100000001B3ull;
    h ^= h >> 29;
  }
  return h;
}

int64_t PrefixCache::attach(int32_t seq, const std::vector<int32_t>& tokens, int64_t max_tokens, uint64_t salt) {
  const int64_t bs = KvCache::kBlockSize;
  const int64_t limit = std::min<int64_t>(max_tokens, static_cast<int64_t>(tokens.size()));
  uint64_t key = salt;
  int64_t covered = 0;
  while (covered + bs <= limit) {
    const uint64_t next = chain(key, tokens.data() + covered);
    auto it = entries_.find(next);
    if (it == entries_.end() || it->second.parent != key ||
        !std::equal(it->second.tokens.begin(), it->second.tokens.end(), tokens.begin() + covered))
      break;
    it->second.last_used = ++clock_;
    kv_.append_shared_block(seq, it->second.block);
    key = next;
    covered += bs;
  }
  return covered;
}

void PrefixCache::insert(int32_t seq, const std::vector<int32_t>& tokens, int64_t n_tokens, uint64_t salt) {
  const int64_t bs = KvCache::kBlockSize;
  const auto& blocks = kv_.blocks(seq);
  uint64_t key = salt;
  for (int64_t b = 0; (b + 1) * bs <= n_tokens && b < static_cast<int64_t>(blocks.size()); ++b) {
    const uint64_t next = chain(key, tokens.data() + b * bs);
    auto it = entries_.find(next);
    if (it == entries_.end()) {
      kv_.retain_block(blocks[b]);
      entries_.emplace(next, Entry{key, std::vector<int32_t>(tokens.begin() + b * bs, tokens.begin() + (b + 1) * bs),
                                   blocks[b], ++clock_});
    } else {
      it->second.last_used = ++clock_;
    }
    key = next;
  }
}

void PrefixCache::evict_until_free(int64_t blocks) {
  while (kv_.free_blocks() < blocks && !entries_.empty()) {
    auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                   [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; });
    kv_.release_block(oldest->second.block);
    entries_.erase(oldest);
  }
}

}  // namespace citadel
