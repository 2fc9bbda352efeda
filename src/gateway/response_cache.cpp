#include "gateway/response_cache.h"

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <list>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "gateway/redis_pool.h"

namespace citadel {
namespace {

using Clock = std::chrono::steady_clock;

// LRU by bytes with a time to live, for one process.
class MemoryCache : public ResponseCache {
 public:
  explicit MemoryCache(const ResponseCacheOptions& o) : ttl_(std::chrono::seconds(o.ttl_seconds)), max_bytes_(o.max_bytes) {}

  std::optional<std::string> get(const std::string& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    if (Clock::now() >= it->second->expires) {
      erase(it->second);
      return std::nullopt;
    }
    order_.splice(order_.begin(), order_, it->second);  // most recently used first
    return it->second->value;
  }

  void put(const std::string& key, const std::string& value) override {
    const int64_t size = static_cast<int64_t>(key.size() + value.size());
    if (size > max_bytes_) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) erase(it->second);
    order_.push_front({key, value, Clock::now() + ttl_});
    index_[key] = order_.begin();
    bytes_ += size;
    while (bytes_ > max_bytes_) erase(std::prev(order_.end()));
  }

  std::string describe() const override {
    char buf[96];
    std::snprintf(buf, sizeof buf, "memory (%.0f MiB, ttl %lld s)", static_cast<double>(max_bytes_) / (1 << 20),
                  static_cast<long long>(ttl_.count()));
    return buf;
  }

 private:
  struct Entry {
    std::string key, value;
    Clock::time_point expires;
  };
  void erase(std::list<Entry>::iterator it) {
    bytes_ -= static_cast<int64_t>(it->key.size() + it->value.size());
    index_.erase(it->key);
    order_.erase(it);
  }
  std::chrono::seconds ttl_;
  int64_t max_bytes_, bytes_ = 0;
  std::mutex mu_;
  std::list<Entry> order_;
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

// Redis through hiredis (gateway/redis_pool.h): entries under citadel:cache:, with Redis's TTL.
class RedisCache : public ResponseCache {
 public:
  RedisCache(const ResponseCacheOptions& o, const RedisAddress& address)
      : o_(o), pool_(address, o.redis_timeout_ms, "response cache", "answering uncached") {}

  std::optional<std::string> get(const std::string& key) override {
    std::optional<std::string> out;
    run({"GET", prefix_ + key}, [&](redisReply* r) {
      if (r->type == REDIS_REPLY_STRING) out = std::string(r->str, r->len);
    });
    return out;
  }

  void put(const std::string& key, const std::string& value) override {
    if (static_cast<int64_t>(value.size()) > o_.max_bytes) return;
    run({"SET", prefix_ + key, value, "EX", std::to_string(o_.ttl_seconds)}, [](redisReply*) {});
  }

  std::string describe() const override {
    return pool_.address().url() + " (ttl " + std::to_string(o_.ttl_seconds) + " s)";
  }

  bool available() const override { return pool_.available(); }

 private:
  // An error reply (out of memory, wrong type) counts as an outage too: answered uncached.
  void run(const std::vector<std::string>& args, const std::function<void(redisReply*)>& on_reply) {
    pool_.run(args, [&](redisReply* r) {
      if (r->type == REDIS_REPLY_ERROR) pool_.failed(std::string(r->str, r->len));
      else on_reply(r);
    });
  }

  ResponseCacheOptions o_;
  RedisPool pool_;
  const std::string prefix_ = "citadel:cache:";
};

}  // namespace

std::unique_ptr<ResponseCache> make_response_cache(const ResponseCacheOptions& o) {
  if (o.ttl_seconds <= 0) throw std::invalid_argument("the cache TTL must be positive");
  if (o.max_bytes <= 0) throw std::invalid_argument("the cache size bound must be positive");
  if (o.url == "memory") return std::make_unique<MemoryCache>(o);
  if (o.url.rfind("redis://", 0) != 0)
    throw std::invalid_argument("cache '" + o.url + "' is neither 'memory' nor 'redis://HOST[:PORT][/DB]'");
  return std::make_unique<RedisCache>(o, parse_redis_url(o.url, "cache"));
}

}  // namespace citadel
