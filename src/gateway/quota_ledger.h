// Rate limits and quotas per key, counted in the key database so that they hold across server
// restarts and across several server processes (each check-and-count is one transaction that no
// other process interleaves: gateway/sql_db.h), or in Redis when one is given
// (gateway/redis_rate_limiter.h: exact across replicas on several hosts, without a database
// transaction per request). Requests and tokens per minute use a window sliding by the second
// over the last 60 seconds (one bucket per key and second: the limit trips at exactly N in any
// 60 s, whatever the clock's minute, at a constant cost per request); tokens per day count per UTC
// day. Tokens are known once a request ends: settle() adds them, and later requests see them.
// Usage per key and UTC day (requests, tokens, refusals: /admin/usage) is always kept in the
// database. BackendUnavailable when the database or Redis cannot be reached.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "gateway/key_store.h"

namespace citadel {

class SqlDb;
class RedisRateLimiter;

struct Admission {
  bool allowed = true;
  std::string limit;        // when refused: "requests per minute", "tokens per minute", "tokens per day"
  int64_t retry_after = 0;  // when refused: whole seconds until the request would be admitted
  int64_t ticket = 0;       // when allowed: pass to settle() (the admission's second; -1: counted in memory)
};

struct DayUsage {
  std::string key_id, day;  // day: YYYY-MM-DD (UTC)
  int64_t requests = 0, prompt_tokens = 0, completion_tokens = 0, refusals = 0;
};

// "YYYY-MM-DD" of a unix time, UTC.
std::string utc_day(int64_t unix_seconds);

class QuotaLedger {
 public:
  // Creates its tables if needed (when the database is unreachable now, on first use). With
  // `limits`, the minute and day limits are counted there instead of in the database.
  explicit QuotaLedger(SqlDb& db, std::shared_ptr<RedisRateLimiter> limits = nullptr);
  ~QuotaLedger();  // writes the usage counted in memory

  // Checks the key's limits at now_ms (unix milliseconds); counts the request when allowed, a
  // refusal when not.
  Admission admit(const KeyRecord& key, int64_t now_ms);
  // The tokens of an admitted request, once known.
  void settle(const std::string& key_id, int64_t ticket, int64_t prompt_tokens, int64_t completion_tokens,
              int64_t now_ms);
  // Per key and day, oldest first; empty key_id: every key; days inclusive ("" : unbounded).
  std::vector<DayUsage> usage(const std::string& key_id, const std::string& from_day, const std::string& to_day);
  // Writes the usage of keys without limits, counted in memory since the last write.
  void flush_usage();

 private:
  void ensure_schema();
  // Keys without limits need no transaction per request: their usage is added up here and
  // written at most once a second (a crash loses at most that second's usage counts).
  void count_in_memory(const std::string& key_id, const std::string& day, int64_t requests, int64_t prompt,
                       int64_t completion, int64_t now_ms);
  SqlDb& db_;
  std::shared_ptr<RedisRateLimiter> limits_;
  std::mutex schema_mu_;
  std::atomic<bool> schema_ready_{false};
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, DayUsage> unwritten_;
  int64_t last_flush_ms_ = 0;
};

nlohmann::json day_usage_json(const DayUsage& u);

}  // namespace citadel
