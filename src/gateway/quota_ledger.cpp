#include "gateway/quota_ledger.h"

#include <algorithm>
#include <ctime>

#include "gateway/outage.h"
#include "gateway/redis_rate_limiter.h"
#include "gateway/sql_db.h"

namespace citadel {
namespace {

constexpr int64_t kWindowSeconds = 60;

void count_day(SqlDb& db, const std::string& key_id, const std::string& day, int64_t requests, int64_t prompt,
               int64_t completion, int64_t refusals) {
  db.execute(
      "INSERT INTO usage_day (key_id, day, requests, prompt_tokens, completion_tokens, refusals)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (key_id, day) DO UPDATE SET"
      " requests = usage_day.requests + excluded.requests,"
      " prompt_tokens = usage_day.prompt_tokens + excluded.prompt_tokens,"
      " completion_tokens = usage_day.completion_tokens + excluded.completion_tokens,"
      " refusals = usage_day.refusals + excluded.refusals",
      {key_id, day, requests, prompt, completion, refusals});
}

}  // namespace

std::string utc_day(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

nlohmann::json day_usage_json(const DayUsage& u) {
  return {{"key_id", u.key_id},
          {"day", u.day},
          {"requests", u.requests},
          {"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"refusals", u.refusals}};
}

QuotaLedger::QuotaLedger(SqlDb& db, std::shared_ptr<RedisRateLimiter> limits) : db_(db), limits_(std::move(limits)) {
  try {
    ensure_schema();
  } catch (const BackendUnavailable&) {  // logged by the database; tried again on first use
  }
}

void QuotaLedger::ensure_schema() {
  if (schema_ready_) return;
  std::lock_guard<std::mutex> lock(schema_mu_);
  if (schema_ready_) return;
  db_.transaction([&] {
    db_.execute(
        "CREATE TABLE IF NOT EXISTS usage_day (key_id TEXT NOT NULL, day TEXT NOT NULL,"
        " requests BIGINT NOT NULL DEFAULT 0, prompt_tokens BIGINT NOT NULL DEFAULT 0,"
        " completion_tokens BIGINT NOT NULL DEFAULT 0, refusals BIGINT NOT NULL DEFAULT 0,"
        " PRIMARY KEY (key_id, day))");
    // The last minute per key in one-second buckets: at most 60 rows a key, whatever the rate.
    db_.execute("CREATE TABLE IF NOT EXISTS usage_second (key_id TEXT NOT NULL, second BIGINT NOT NULL,"
                " requests BIGINT NOT NULL DEFAULT 0, tokens BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (key_id, second))");
  });
  schema_ready_ = true;
}

QuotaLedger::~QuotaLedger() {
  try {
    flush_usage();
  } catch (const std::exception&) {
  }
}

void QuotaLedger::count_in_memory(const std::string& key_id, const std::string& day, int64_t requests, int64_t prompt,
                                  int64_t completion, int64_t now_ms) {
  bool due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    DayUsage& u = unwritten_[{key_id, day}];
    u.key_id = key_id, u.day = day;
    u.requests += requests, u.prompt_tokens += prompt, u.completion_tokens += completion;
    if (last_flush_ms_ == 0) last_flush_ms_ = now_ms;
    due = now_ms - last_flush_ms_ >= 1000;
    if (due) last_flush_ms_ = now_ms;
  }
  if (due) flush_usage();
}

void QuotaLedger::flush_usage() {
  std::map<std::pair<std::string, std::string>, DayUsage> rows;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rows.swap(unwritten_);
  }
  if (rows.empty()) return;
  ensure_schema();
  db_.transaction([&] {
    for (const auto& [k, u] : rows) count_day(db_, u.key_id, u.day, u.requests, u.prompt_tokens, u.completion_tokens, 0);
  });
}

Admission QuotaLedger::admit(const KeyRecord& key, int64_t now_ms) {
  Admission a;
  const KeyQuota& q = key.quota;
  const int64_t now_s = now_ms / 1000;
  const std::string day = utc_day(now_s);
  if (q.requests_per_minute == 0 && q.tokens_per_minute == 0 && q.tokens_per_day == 0) {
    count_in_memory(key.id, day, 1, 0, 0, now_ms);
    a.ticket = -1;
    return a;
  }
  ensure_schema();
  if (limits_) {  // counted in Redis; the day's usage row is one upsert, atomic on its own
    a = limits_->admit(key, now_ms);
    count_day(db_, key.id, day, a.allowed ? 1 : 0, 0, 0, a.allowed ? 0 : 1);
    return a;
  }
  db_.transaction([&] {
    // The window is the 60 whole seconds up to now: a request counts until 60 s after its second.
    db_.execute("DELETE FROM usage_second WHERE key_id = ?1 AND second <= ?2", {key.id, now_s - kWindowSeconds});
    if (q.requests_per_minute > 0 || q.tokens_per_minute > 0) {
      const auto rows =
          db_.query("SELECT second, requests, tokens FROM usage_second WHERE key_id = ?1 ORDER BY second", {key.id});
      int64_t requests = 0, tokens = 0;
      for (const auto& r : rows) requests += as_int(r[1]), tokens += as_int(r[2]);
      // Admitted again once enough of the oldest seconds have left the window.
      auto wait_until_below = [&](int64_t total, int64_t limit, int column) {
        size_t i = 0;
        while (i < rows.size() && total >= limit) total -= as_int(rows[i++][column]);
        return std::max<int64_t>(1, as_int(rows[i - 1][0]) + kWindowSeconds - now_s);
      };
      if (q.requests_per_minute > 0 && requests >= q.requests_per_minute)
        a = {false, "requests per minute", wait_until_below(requests, q.requests_per_minute, 1), 0};
      else if (q.tokens_per_minute > 0 && tokens >= q.tokens_per_minute)
        a = {false, "tokens per minute", wait_until_below(tokens, q.tokens_per_minute, 2), 0};
    }
    if (a.allowed && q.tokens_per_day > 0) {
      const auto rows = db_.query("SELECT prompt_tokens + completion_tokens FROM usage_day WHERE key_id = ?1 AND day = ?2",
                                  {key.id, day});
      if (!rows.empty() && as_int(rows[0][0]) >= q.tokens_per_day) {
        const int64_t next_midnight_ms = (now_ms / 86400000 + 1) * 86400000;
        a = {false, "tokens per day", (next_midnight_ms - now_ms + 999) / 1000, 0};
      }
    }
    if (!a.allowed) {
      count_day(db_, key.id, day, 0, 0, 0, 1);
      return;
    }
    db_.execute("INSERT INTO usage_second (key_id, second, requests) VALUES (?1, ?2, 1)"
                " ON CONFLICT (key_id, second) DO UPDATE SET requests = usage_second.requests + 1",
                {key.id, now_s});
    a.ticket = now_s;  // the second whose bucket gets the tokens
    count_day(db_, key.id, day, 1, 0, 0, 0);
  });
  return a;
}

void QuotaLedger::settle(const std::string& key_id, int64_t ticket, int64_t prompt_tokens, int64_t completion_tokens,
                         int64_t now_ms) {
  if (prompt_tokens <= 0 && completion_tokens <= 0) return;
  if (ticket < 0) {
    count_in_memory(key_id, utc_day(now_ms / 1000), 0, prompt_tokens, completion_tokens, now_ms);
    return;
  }
  ensure_schema();
  if (limits_) {
    limits_->settle(key_id, ticket, prompt_tokens + completion_tokens, now_ms);
    count_day(db_, key_id, utc_day(now_ms / 1000), 0, prompt_tokens, completion_tokens, 0);
    return;
  }
  db_.transaction([&] {
    db_.execute("UPDATE usage_second SET tokens = tokens + ?3 WHERE key_id = ?1 AND second = ?2",
                {key_id, ticket, prompt_tokens + completion_tokens});
    count_day(db_, key_id, utc_day(now_ms / 1000), 0, prompt_tokens, completion_tokens, 0);
  });
}

std::vector<DayUsage> QuotaLedger::usage(const std::string& key_id, const std::string& from_day,
                                         const std::string& to_day) {
  flush_usage();
  ensure_schema();
  std::vector<DayUsage> out;
  const auto rows = db_.query(
      "SELECT key_id, day, requests, prompt_tokens, completion_tokens, refusals FROM usage_day"
      " WHERE (?1 = '' OR key_id = ?1) AND (?2 = '' OR day >= ?2) AND (?3 = '' OR day <= ?3) ORDER BY day, key_id",
      {key_id, from_day, to_day});
  for (const auto& r : rows)
    out.push_back({as_text(r[0]), as_text(r[1]), as_int(r[2]), as_int(r[3]), as_int(r[4]), as_int(r[5])});
  return out;
}

}  // namespace citadel
