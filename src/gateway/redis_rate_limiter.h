// Rate limits and quotas per key counted in Redis (redis_url), so that they hold exactly across
// gateway replicas: the same semantics as the SQL ledger (gateway/quota_ledger.h). Requests and
// tokens per minute: one bucket per key and second (a hash {r, t} under
// citadel:rl:{<key id>}:s:<unix second>, TTL 120 s), the window the 60 seconds up to now, so a
// limit of N trips at exactly N in any 60 s; tokens per UTC day under citadel:rl:{<key id>}:d:<day>
// (TTL two days). Check-and-count is one Lua script (EVALSHA, EVAL when Redis lacks it), which
// Redis runs atomically: no two replicas can both take the last slot. Replicas use their own
// clocks: keep them NTP-synced (a skew of d seconds moves a window's edge by d).
// Fails closed: while Redis cannot be reached admit() throws BackendUnavailable (the gateway
// answers 503 with Retry-After; one log line per outage), since limits that cannot be counted
// cannot be enforced.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/key_store.h"
#include "gateway/quota_ledger.h"
#include "gateway/redis_pool.h"

namespace citadel {

class RedisRateLimiter {
 public:
  // url: redis://HOST[:PORT][/DB]; throws std::invalid_argument for a malformed one.
  explicit RedisRateLimiter(const std::string& url, int64_t timeout_ms = 500);

  // Checks the key's limits at now_ms and counts the request when allowed (ticket: its second).
  Admission admit(const KeyRecord& key, int64_t now_ms);
  // Adds an admitted request's tokens to its second's bucket and to the day's count.
  void settle(const std::string& key_id, int64_t ticket, int64_t tokens, int64_t now_ms);
  std::string describe() const { return pool_.address().url(); }

 private:
  struct Script {
    const char* text;
    std::string sha1;
  };
  // Runs the script (EVALSHA; EVAL when the server answers NOSCRIPT); its integer replies.
  std::vector<int64_t> eval(const Script& script, const std::string& key_id, const std::string& day,
                            const std::vector<std::string>& args);
  RedisPool pool_;
  Script admit_, settle_;
};

}  // namespace citadel
