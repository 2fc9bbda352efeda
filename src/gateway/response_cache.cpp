#include "gateway/response_cache.h"

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdio>
#include <list>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <vector>

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

// Redis through hiredis: a small pool of connections (one per concurrent caller); on an error the
// backend is marked down for a second at a time, so a dead Redis costs one failed connect per
// second instead of a timeout per request.
class RedisCache : public ResponseCache {
 public:
  RedisCache(const ResponseCacheOptions& o, std::string host, int port, int db)
      : o_(o), host_(std::move(host)), port_(port), db_(db) {}
  ~RedisCache() override {
    for (redisContext* c : idle_) redisFree(c);
  }

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
    return "redis://" + host_ + ":" + std::to_string(port_) + "/" + std::to_string(db_) + " (ttl " +
           std::to_string(o_.ttl_seconds) + " s)";
  }

  bool available() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return !down_;
  }

 private:
  template <typename F>
  void run(const std::vector<std::string>& args, F on_reply) {
    redisContext* c = checkout();
    if (!c) return;
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
    auto* reply = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (!reply || c->err) {
      if (reply) freeReplyObject(reply);
      fail(c->errstr[0] ? c->errstr : "no reply");
      redisFree(c);
      return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      fail(std::string(reply->str, reply->len));
      freeReplyObject(reply);
      checkin(c);
      return;
    }
    on_reply(reply);
    freeReplyObject(reply);
    checkin(c);
  }

  redisContext* checkout() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (down_ && Clock::now() < retry_at_) return nullptr;
      if (!idle_.empty()) {
        redisContext* c = idle_.back();
        idle_.pop_back();
        return c;
      }
    }
    const timeval tv{o_.redis_timeout_ms / 1000, static_cast<suseconds_t>((o_.redis_timeout_ms % 1000) * 1000)};
    redisContext* c = redisConnectWithTimeout(host_.c_str(), port_, tv);
    if (!c || c->err) {
      fail(c ? c->errstr : "cannot allocate a connection");
      if (c) redisFree(c);
      return nullptr;
    }
    redisSetTimeout(c, tv);
    if (db_ != 0) {
      auto* r = static_cast<redisReply*>(redisCommand(c, "SELECT %d", db_));
      const bool ok = r && r->type != REDIS_REPLY_ERROR;
      if (r) freeReplyObject(r);
      if (!ok) {
        fail("SELECT " + std::to_string(db_) + " failed");
        redisFree(c);
        return nullptr;
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (down_) {
      down_ = false;
      std::fprintf(stderr, "citadel: response cache %s is back\n", describe().c_str());
    }
    return c;
  }

  void checkin(redisContext* c) {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < 64) idle_.push_back(c);
    else redisFree(c);
  }

  void fail(const std::string& why) {
    std::lock_guard<std::mutex> lock(mu_);
    retry_at_ = Clock::now() + std::chrono::seconds(1);
    if (down_) return;
    down_ = true;  // logged once per outage
    std::fprintf(stderr, "citadel: response cache %s unavailable (%s): answering uncached until it is back\n",
                 describe().c_str(), why.c_str());
  }

  ResponseCacheOptions o_;
  std::string host_;
  int port_, db_;
  const std::string prefix_ = "citadel:cache:";
  mutable std::mutex mu_;
  std::vector<redisContext*> idle_;
  bool down_ = false;
  Clock::time_point retry_at_;
};

}  // namespace

std::unique_ptr<ResponseCache> make_response_cache(const ResponseCacheOptions& o) {
  if (o.ttl_seconds <= 0) throw std::invalid_argument("the cache TTL must be positive");
  if (o.max_bytes <= 0) throw std::invalid_argument("the cache size bound must be positive");
  if (o.url == "memory") return std::make_unique<MemoryCache>(o);
  const std::string scheme = "redis://";
  if (o.url.rfind(scheme, 0) != 0)
    throw std::invalid_argument("cache '" + o.url + "' is neither 'memory' nor 'redis://HOST[:PORT][/DB]'");
  std::string rest = o.url.substr(scheme.size());
  int db = 0, port = 6379;
  if (const size_t slash = rest.find('/'); slash != std::string::npos) {
    const std::string d = rest.substr(slash + 1);
    rest.resize(slash);
    if (!d.empty()) {
      if (d.find_first_not_of("0123456789") != std::string::npos || d.size() > 4)
        throw std::invalid_argument("cache '" + o.url + "': the database must be a number");
      db = std::stoi(d);
    }
  }
  if (const size_t colon = rest.rfind(':'); colon != std::string::npos) {
    const std::string p = rest.substr(colon + 1);
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos || std::stoi(p) > 65535)
      throw std::invalid_argument("cache '" + o.url + "': bad port");
    port = std::stoi(p);
    rest.resize(colon);
  }
  if (rest.empty()) throw std::invalid_argument("cache '" + o.url + "' names no host");
  return std::make_unique<RedisCache>(o, rest, port, db);
}

}  // namespace citadel
