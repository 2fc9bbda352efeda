// A cache of finished answers for frequent questions (docs/cache.md): keys are SHA-256 digests of
// everything that decides an answer, values opaque bytes (the engine's recorded events). Two
// backends: an in-process LRU bounded in bytes, and Redis (hiredis) shared by several servers.
// A backend that fails (Redis down) answers "miss" and drops writes, never an error: requests are
// then served uncached, and the outage is logged once, not per request.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace citadel {

struct ResponseCacheOptions {
  std::string url = "memory";            // "memory" or "redis://HOST[:PORT][/DB]"
  int64_t ttl_seconds = 3600;            // an entry lives this long
  int64_t max_bytes = 256LL << 20;       // memory: the whole cache; redis: one entry (Redis's own maxmemory bounds the rest)
  int64_t redis_timeout_ms = 200;        // connect and command timeout
};

class ResponseCache {
 public:
  virtual ~ResponseCache() = default;
  virtual std::optional<std::string> get(const std::string& key) = 0;
  virtual void put(const std::string& key, const std::string& value) = 0;
  virtual std::string describe() const = 0;  // "memory (256 MiB, ttl 3600 s)", "redis://127.0.0.1:6379/0 ..."
  virtual bool available() const { return true; }  // false while the backend is down
};

// Throws std::invalid_argument for a malformed url or bound.
std::unique_ptr<ResponseCache> make_response_cache(const ResponseCacheOptions& options);

}  // namespace citadel
