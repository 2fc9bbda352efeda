#include "gateway/quota_ledger.h"

#include <ctime>

#include "gateway/sqlite_db.h"

namespace citadel {
namespace {

constexpr int64_t kWindowMs = 60000;

int64_t ceil_seconds(int64_t ms) { return ms <= 0 ? 1 : (ms + 999) / 1000; }

void count_day(SqliteDb& db, const std::string& key_id, const std::string& day, int64_t requests, int64_t prompt,
               int64_t completion, int64_t refusals) {
  db.execute(
      "INSERT INTO usage_day (key_id, day, requests, prompt_tokens, completion_tokens, refusals)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (key_id, day) DO UPDATE SET"
      " requests = requests + ?3, prompt_tokens = prompt_tokens + ?4,"
      " completion_tokens = completion_tokens + ?5, refusals = refusals + ?6",
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

QuotaLedger::QuotaLedger(SqliteDb& db) : db_(db) {
  db_.execute(
      "CREATE TABLE IF NOT EXISTS usage_day (key_id TEXT NOT NULL, day TEXT NOT NULL,"
      " requests INTEGER NOT NULL DEFAULT 0, prompt_tokens INTEGER NOT NULL DEFAULT 0,"
      " completion_tokens INTEGER NOT NULL DEFAULT 0, refusals INTEGER NOT NULL DEFAULT 0,"
      " PRIMARY KEY (key_id, day))");
  db_.execute("CREATE TABLE IF NOT EXISTS usage_window (key_id TEXT NOT NULL, t_ms INTEGER NOT NULL,"
              " tokens INTEGER NOT NULL DEFAULT 0)");
  db_.execute("CREATE INDEX IF NOT EXISTS usage_window_key ON usage_window (key_id, t_ms)");
}

Admission QuotaLedger::admit(const KeyRecord& key, int64_t now_ms) {
  Admission a;
  const KeyQuota& q = key.quota;
  const std::string day = utc_day(now_ms / 1000);
  db_.transaction([&] {
    db_.execute("DELETE FROM usage_window WHERE key_id = ?1 AND t_ms <= ?2", {key.id, now_ms - kWindowMs});
    if (q.requests_per_minute > 0 || q.tokens_per_minute > 0) {
      const auto rows = db_.query("SELECT t_ms, tokens FROM usage_window WHERE key_id = ?1 ORDER BY t_ms", {key.id});
      const int64_t n = static_cast<int64_t>(rows.size());
      int64_t tokens = 0;
      for (const auto& r : rows) tokens += as_int(r[1]);
      if (q.requests_per_minute > 0 && n >= q.requests_per_minute) {
        // Admitted again once the oldest n - limit + 1 requests have left the window.
        a = {false, "requests per minute", ceil_seconds(as_int(rows[n - q.requests_per_minute][0]) + kWindowMs - now_ms), 0};
      } else if (q.tokens_per_minute > 0 && tokens >= q.tokens_per_minute) {
        size_t i = 0;
        while (i < rows.size() && tokens >= q.tokens_per_minute) tokens -= as_int(rows[i++][1]);
        a = {false, "tokens per minute", ceil_seconds(as_int(rows[i - 1][0]) + kWindowMs - now_ms), 0};
      }
    }
    if (a.allowed && q.tokens_per_day > 0) {
      const auto rows = db_.query("SELECT prompt_tokens + completion_tokens FROM usage_day WHERE key_id = ?1 AND day = ?2",
                                  {key.id, day});
      if (!rows.empty() && as_int(rows[0][0]) >= q.tokens_per_day) {
        const int64_t next_midnight_ms = (now_ms / 86400000 + 1) * 86400000;
        a = {false, "tokens per day", ceil_seconds(next_midnight_ms - now_ms), 0};
      }
    }
    if (!a.allowed) {
      count_day(db_, key.id, day, 0, 0, 0, 1);
      return;
    }
    const auto id = db_.query("INSERT INTO usage_window (key_id, t_ms) VALUES (?1, ?2) RETURNING rowid", {key.id, now_ms});
    a.ticket = as_int(id.at(0).at(0));
    count_day(db_, key.id, day, 1, 0, 0, 0);
  });
  return a;
}

void QuotaLedger::settle(const std::string& key_id, int64_t ticket, int64_t prompt_tokens, int64_t completion_tokens,
                         int64_t now_ms) {
  if (prompt_tokens <= 0 && completion_tokens <= 0) return;
  db_.transaction([&] {
    db_.execute("UPDATE usage_window SET tokens = ?2 WHERE rowid = ?1", {ticket, prompt_tokens + completion_tokens});
    count_day(db_, key_id, utc_day(now_ms / 1000), 0, prompt_tokens, completion_tokens, 0);
  });
}

std::vector<DayUsage> QuotaLedger::usage(const std::string& key_id, const std::string& from_day,
                                         const std::string& to_day) const {
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
