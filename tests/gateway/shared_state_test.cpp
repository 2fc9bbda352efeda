// State shared by gateway replicas: the SQL dialect both key databases run (SQLite, PostgreSQL),
// a PostgreSQL server that cannot be reached (503, never a crash), and rate limits counted in
// Redis (a real redis-server started here): the same windows as the database ledger, exact
// across replicas and threads, failing closed while Redis is down.
// A real PostgreSQL is exercised by tests/e2e/shared_gateways.sh.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "gateway/gateway.h"
#include "gateway/outage.h"
#include "gateway/postgres_db.h"
#include "gateway/quota_ledger.h"
#include "gateway/redis_rate_limiter.h"
#include "gateway/sqlite_db.h"
#include "redis_test_server.h"

namespace citadel {
namespace {

std::string temp_db(const std::string& tag = "") {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string path = ::testing::TempDir() + "/citadel-shared-" + info->name() + tag + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

KeyRecord limited(KeyStore& keys, KeyQuota q) {
  KeySpec spec;
  spec.name = "limited";
  spec.quota = q;
  return keys.create(spec, 0).first;
}

TEST(SqlDb, PostgresPlaceholdersAndRedactedUrls) {
  EXPECT_EQ(postgres_placeholders("SELECT a FROM t WHERE id = ?1 AND (?2 = '' OR d >= ?2)"),
            "SELECT a FROM t WHERE id = $1 AND ($2 = '' OR d >= $2)");
  EXPECT_EQ(postgres_placeholders("SELECT '?1', 'it''s ?2', ?3, ?"), "SELECT '?1', 'it''s ?2', $3, ?");
  EXPECT_EQ(redact_db_location("postgresql://citadel:s3cret@db.internal:5432/keys"),
            "postgresql://citadel:***@db.internal:5432/keys");
  EXPECT_EQ(redact_db_location("postgres://u@h/db?sslmode=require&password=s3cret&x=1"),
            "postgres://u@h/db?sslmode=require&password=***&x=1");
  EXPECT_EQ(redact_db_location("postgresql://h:5432/db"), "postgresql://h:5432/db");
  EXPECT_EQ(redact_db_location("/var/lib/citadel/keys.db"), "/var/lib/citadel/keys.db");
  EXPECT_TRUE(is_postgres_url("postgresql://h/db"));
  EXPECT_FALSE(is_postgres_url("keys.db"));
}

TEST(SqlDb, SqliteRunsTheSharedDialect) {
  SqliteDb db(temp_db());
  KeyStore keys(db);
  EXPECT_TRUE(db.has_column("api_keys", "pii_policy"));
  EXPECT_FALSE(db.has_column("api_keys", "no_such_column"));
  QuotaLedger ledger(db);
  const KeyRecord k = limited(keys, {5, 0, 0});
  const Admission a = ledger.admit(k, 1'700'000'000'000);
  ASSERT_TRUE(a.allowed);
  ledger.settle(k.id, a.ticket, 3, 4, 1'700'000'000'500);
  ledger.settle(k.id, a.ticket, 1, 1, 1'700'000'000'600);  // the upsert adds to the row
  const auto u = ledger.usage(k.id, "", "");
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].requests, 1);
  EXPECT_EQ(u[0].prompt_tokens, 4);
  EXPECT_EQ(u[0].completion_tokens, 5);
}

TEST(PostgresDb, UnreachableServerIsA503NotACrash) {
  // Port 1 on the loopback: nothing listens, connections are refused at once.
  const std::string url = "postgresql://citadel:s3cret@127.0.0.1:1/keys";
  PostgresDb db(url);
  EXPECT_EQ(db.describe(), "postgresql://citadel:***@127.0.0.1:1/keys");
  KeyStore keys(db);  // the schema waits for the server
  const std::string key = "ctd_0123456789ab_" + std::string(43, 'A');
  for (int i = 0; i < 3; ++i) {
    try {
      keys.authenticate(key);
      ADD_FAILURE() << "no server, yet an answer";
    } catch (const BackendUnavailable& e) {
      EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << "the password stays out of errors";
      EXPECT_NE(std::string(e.what()).find("127.0.0.1:1"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(keys.list(), BackendUnavailable);

  GatewayOptions o;
  o.auth_db = url;
  Gateway g(o);  // starts although the database is down
  std::optional<KeyRecord> caller;
  const Verdict v = g.check_access(key, Access::Inference, 0, &caller);
  EXPECT_EQ(v.status, 503);
  EXPECT_EQ(v.code, "backend_unavailable");
  EXPECT_EQ(v.retry_after, 1);
  EXPECT_EQ(v.message.find("s3cret"), std::string::npos);
  EXPECT_EQ(g.check_access(std::nullopt, Access::Inference, 0, &caller).status, 401) << "no key: no database needed";
}

TEST(RedisRateLimiter, MalformedUrlsAndWithoutKeys) {
  EXPECT_THROW(RedisRateLimiter("http://x"), std::invalid_argument);
  EXPECT_THROW(RedisRateLimiter("redis://h:99999"), std::invalid_argument);
  EXPECT_THROW(RedisRateLimiter("redis://h/x"), std::invalid_argument);
  GatewayOptions o;
  o.redis_url = "redis://127.0.0.1:1";
  Gateway g(o);  // no keys, no limits: Redis is not used
  EXPECT_FALSE(g.keys_on());
}

TEST(RedisRateLimiter, RequestsPerMinuteTripAtTheLimit) {
  if (!have_redis()) GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it)";
  RedisServer redis;
  SqliteDb db(temp_db());
  KeyStore keys(db);
  QuotaLedger ledger(db, std::make_shared<RedisRateLimiter>(redis.url(4)));
  const KeyRecord k = limited(keys, {3, 0, 0});
  const int64_t t0 = 1'700'000'000'000;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ledger.admit(k, t0 + i * 1000).allowed) << i;
  Admission refused = ledger.admit(k, t0 + 10'000);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.limit, "requests per minute");
  EXPECT_EQ(refused.retry_after, 50) << "the first request leaves the window at t0 + 60 s";
  EXPECT_FALSE(ledger.admit(k, t0 + 59'999).allowed);
  EXPECT_TRUE(ledger.admit(k, t0 + 60'001).allowed) << "the sliding window moved past the first";
  const auto usage = ledger.usage(k.id, "", "");  // usage stays in the database
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].requests, 4);
  EXPECT_EQ(usage[0].refusals, 2);
}

TEST(RedisRateLimiter, TokensPerMinuteAndPerDay) {
  if (!have_redis()) GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it)";
  RedisServer redis;
  SqliteDb db(temp_db());
  KeyStore keys(db);
  QuotaLedger ledger(db, std::make_shared<RedisRateLimiter>(redis.url(4)));
  const KeyRecord k = limited(keys, {0, 100, 250});
  const int64_t t0 = 1'700'000'000'000;
  for (int i = 0; i < 4; ++i) {
    const Admission a = ledger.admit(k, t0 + i * 1000);
    ASSERT_TRUE(a.allowed) << i;
    ledger.settle(k.id, a.ticket, 10, 20, t0 + i * 1000 + 500);
  }
  Admission r = ledger.admit(k, t0 + 5000);
  EXPECT_FALSE(r.allowed) << "120 tokens in the window >= 100";
  EXPECT_EQ(r.limit, "tokens per minute");
  EXPECT_EQ(r.retry_after, 55);
  int admitted = 0;
  for (int i = 0; i < 10; ++i) {
    const int64_t t = t0 + 120'000 + i * 61'000;
    const Admission a = ledger.admit(k, t);
    if (!a.allowed) {
      EXPECT_EQ(a.limit, "tokens per day");
      const int64_t midnight_ms = (t0 / 86400000 + 1) * 86400000;
      EXPECT_EQ(a.retry_after, (midnight_ms - t + 999) / 1000);
      break;
    }
    ++admitted;
    ledger.settle(k.id, a.ticket, 10, 20, t);
  }
  EXPECT_EQ(admitted, 5) << "as with the database ledger";
  const auto usage = ledger.usage(k.id, "", "");
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].prompt_tokens + usage[0].completion_tokens, 270);
}

TEST(RedisRateLimiter, ExactAcrossReplicasAndThreads) {
  if (!have_redis()) GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it)";
  RedisServer redis;
  // Eight replicas (their own limiter, their own connections) race for the same key's 100
  // requests in one second: exactly 100 get in.
  SqliteDb db(temp_db());
  KeyStore keys(db);
  const KeyRecord k = limited(keys, {100, 0, 0});
  std::atomic<int> admitted{0};
  std::vector<std::thread> replicas;
  for (int r = 0; r < 8; ++r)
    replicas.emplace_back([&] {
      RedisRateLimiter limiter(redis.url(4));
      for (int i = 0; i < 40; ++i) admitted += limiter.admit(k, 1'700'000'000'000 + i).allowed;
    });
  for (auto& t : replicas) t.join();
  EXPECT_EQ(admitted.load(), 100);
}

TEST(RedisRateLimiter, FailsClosedWhileRedisIsDown) {
  if (!have_redis()) GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it)";
  RedisServer redis;
  GatewayOptions o;
  o.auth_db = temp_db();
  o.redis_url = redis.url(4);
  Gateway g(o);
  KeySpec spec;
  spec.name = "limited";
  spec.quota = {1000, 0, 0};
  const KeyRecord k = g.keys()->create(spec, 0).first;
  spec.quota = {};
  const KeyRecord unlimited = g.keys()->create(spec, 0).first;
  const int64_t t0 = 1'700'000'000'000;
  int64_t ticket = 0;
  EXPECT_EQ(g.admit(k, "m", t0, &ticket).status, 0);
  redis.stop();
  const Verdict v = g.admit(k, "m", t0 + 1, &ticket);
  EXPECT_EQ(v.status, 503) << "limits that cannot be counted are not enforced by letting everyone in";
  EXPECT_EQ(v.code, "backend_unavailable");
  EXPECT_EQ(v.retry_after, 1);
  EXPECT_EQ(g.admit(unlimited, "m", t0 + 2, &ticket).status, 0) << "keys without limits do not need Redis";
  g.settle(k, t0 / 1000, 5, 5, t0 + 3);  // tokens of a request in flight: dropped, no throw
  redis.start();  // an empty Redis: the script is sent again (NOSCRIPT), counting resumes
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(g.admit(k, "m", t0 + 1200, &ticket).status, 0);
  EXPECT_EQ(ticket, t0 / 1000 + 1);
}

}  // namespace
}  // namespace citadel
