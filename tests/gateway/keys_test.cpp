// API keys, the key database and the quota ledger.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "gateway/api_key.h"
#include "gateway/auth_header.h"
#include "gateway/key_store.h"
#include "gateway/quota_ledger.h"
#include "gateway/sqlite_db.h"

namespace citadel {
namespace {

std::string temp_db() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string path = ::testing::TempDir() + "/citadel-keys-" + info->name() + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

TEST(AuthHeader, BearerTokens) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer  abc  "), "abc");
  EXPECT_EQ(bearer_token("BEARER ctd_0123456789ab_x-y_z"), "ctd_0123456789ab_x-y_z");
  EXPECT_EQ(bearer_token("Bearer a+/b=="), "a+/b==");
  for (const char* bad : {"", "Bearer", "Bearer ", "Basic abc", "Bearerabc", "Bearer a b", "Bearer a\"b", "Bearer =abc",
                          "Bearer ab=c", "Bearer \xff", "Bearer a\tb", "Token abc"})
    EXPECT_FALSE(bearer_token(bad)) << bad;
  EXPECT_FALSE(bearer_token("Bearer " + std::string(10000, 'a'))) << "a 10 KB key";
  EXPECT_TRUE(bearer_token("Bearer " + std::string(kMaxTokenBytes, 'a')));
  EXPECT_FALSE(bearer_token("Bearer " + std::string(kMaxTokenBytes + 1, 'a')));
  EXPECT_EQ(api_key_header(" ctd_key "), "ctd_key");
  EXPECT_FALSE(api_key_header("two words"));
}

TEST(ApiKey, FormatAndHash) {
  const GeneratedKey k = generate_api_key();
  EXPECT_EQ(k.key.size(), 4u + 12 + 1 + 43);
  EXPECT_EQ(k.key.rfind("ctd_", 0), 0u);
  EXPECT_EQ(api_key_id(k.key), k.id);
  EXPECT_EQ(k.hash, key_hash(k.key));
  EXPECT_EQ(k.hash.size(), 64u);
  EXPECT_TRUE(bearer_token("Bearer " + k.key)) << "keys pass the header parser";
  EXPECT_NE(generate_api_key().key, k.key);
  EXPECT_FALSE(api_key_id("ctd_0123456789ab"));
  EXPECT_FALSE(api_key_id("xyz_" + k.key.substr(4)));
  std::string bad = k.key;
  bad[5] = 'G';  // not hex
  EXPECT_FALSE(api_key_id(bad));
  EXPECT_TRUE(hashes_equal(k.hash, key_hash(k.key)));
  EXPECT_FALSE(hashes_equal(k.hash, key_hash(k.key + "x")));
}

TEST(KeyStore, CreateAuthenticateRevokeRotate) {
  SqliteDb db(temp_db());
  KeyStore keys(db);
  KeySpec spec;
  spec.name = "Robert'); DROP TABLE api_keys;--";  // SQL meta-characters are data
  spec.role = Role::User;
  spec.models = {"stories", "other"};
  spec.quota = {10, 1000, 100000};
  auto [rec, key] = keys.create(spec, 1000);
  EXPECT_EQ(rec.name, spec.name);
  EXPECT_EQ(rec.models, spec.models);
  EXPECT_EQ(rec.quota.tokens_per_minute, 1000);
  EXPECT_TRUE(rec.may_use_model("stories"));
  EXPECT_FALSE(rec.may_use_model("secret"));
  ASSERT_TRUE(keys.authenticate(key));
  EXPECT_EQ(keys.authenticate(key)->id, rec.id);
  EXPECT_FALSE(keys.authenticate(key.substr(0, key.size() - 1) + (key.back() == 'A' ? "B" : "A"))) << "one char off";
  EXPECT_FALSE(keys.authenticate("garbage"));
  EXPECT_EQ(keys.count(), 1u);

  const auto rotated = keys.rotate(rec.id);
  ASSERT_TRUE(rotated);
  EXPECT_FALSE(keys.authenticate(key)) << "the old key stops at rotation";
  EXPECT_EQ(keys.authenticate(*rotated)->id, rec.id);
  EXPECT_EQ(keys.authenticate(*rotated)->quota.requests_per_minute, 10) << "settings survive rotation";

  EXPECT_TRUE(keys.set_disabled(rec.id, true));
  EXPECT_TRUE(keys.authenticate(*rotated)->disabled) << "disabled keys authenticate (then get 403)";
  EXPECT_TRUE(keys.revoke(rec.id));
  EXPECT_FALSE(keys.authenticate(*rotated)) << "revoked keys do not";
  EXPECT_FALSE(keys.revoke(rec.id));
  EXPECT_EQ(keys.count(), 0u);
  EXPECT_FALSE(keys.rotate("nosuchid"));
}

TEST(KeyStore, ValidatesAndExpires) {
  SqliteDb db(temp_db());
  KeyStore keys(db);
  KeySpec spec;
  spec.name = "";
  EXPECT_THROW(keys.create(spec, 0), std::invalid_argument);
  spec.name = "a\nb";
  EXPECT_THROW(keys.create(spec, 0), std::invalid_argument);
  spec.name = std::string(201, 'x');
  EXPECT_THROW(keys.create(spec, 0), std::invalid_argument);
  spec.name = "ok";
  spec.quota.requests_per_minute = -1;
  EXPECT_THROW(keys.create(spec, 0), std::invalid_argument);
  EXPECT_EQ(parse_expiry("30d", 100), 100 + 30 * 86400);
  EXPECT_EQ(parse_expiry("12h", 0), 12 * 3600);
  EXPECT_EQ(parse_expiry("90m", 0), 5400);
  EXPECT_EQ(parse_expiry("3600", 0), 3600);
  EXPECT_EQ(parse_expiry("never", 5), 0);
  for (const char* bad : {"d", "-3d", "3w", "1e9d", "30 d"}) EXPECT_THROW(parse_expiry(bad, 0), std::invalid_argument) << bad;
  KeyRecord r;
  r.expires = 50;
  EXPECT_FALSE(r.expired(49));
  EXPECT_TRUE(r.expired(50));
}

TEST(KeyStore, SharedBetweenConnections) {
  // Two connections to one file (two server processes): a key made by one works in the other.
  const std::string path = temp_db();
  SqliteDb a(path), b(path);
  KeyStore ka(a), kb(b);
  KeySpec spec;
  spec.name = "shared";
  const std::string key = ka.create(spec, 0).second;
  EXPECT_TRUE(kb.authenticate(key));
}

KeyRecord limited(KeyStore& keys, KeyQuota q) {
  KeySpec spec;
  spec.name = "limited";
  spec.quota = q;
  return keys.create(spec, 0).first;
}

TEST(QuotaLedger, RequestsPerMinuteTripAtTheLimit) {
  SqliteDb db(temp_db());
  KeyStore keys(db);
  QuotaLedger ledger(db);
  const KeyRecord k = limited(keys, {3, 0, 0});
  const int64_t t0 = 1'700'000'000'000;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ledger.admit(k, t0 + i * 1000).allowed) << i;
  Admission refused = ledger.admit(k, t0 + 10'000);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.limit, "requests per minute");
  EXPECT_EQ(refused.retry_after, 50) << "the first request leaves the window at t0 + 60 s";
  EXPECT_FALSE(ledger.admit(k, t0 + 59'999).allowed);
  EXPECT_TRUE(ledger.admit(k, t0 + 60'001).allowed) << "the sliding window moved past the first";
  const auto usage = ledger.usage(k.id, "", "");
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].requests, 4);
  EXPECT_EQ(usage[0].refusals, 2);
}

TEST(QuotaLedger, TokensPerMinuteAndPerDay) {
  SqliteDb db(temp_db());
  KeyStore keys(db);
  QuotaLedger ledger(db);
  const KeyRecord k = limited(keys, {0, 100, 250});
  const int64_t t0 = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
  for (int i = 0; i < 4; ++i) {  // 30 tokens each: 0, 30, 60, 90 used before each: all admitted
    const Admission a = ledger.admit(k, t0 + i * 1000);
    ASSERT_TRUE(a.allowed) << i;
    ledger.settle(k.id, a.ticket, 10, 20, t0 + i * 1000 + 500);
  }
  Admission r = ledger.admit(k, t0 + 5000);
  EXPECT_FALSE(r.allowed) << "120 tokens in the window >= 100";
  EXPECT_EQ(r.limit, "tokens per minute");
  EXPECT_EQ(r.retry_after, 55) << "once the first request leaves the window (t0 + 60 s), 90 < 100";
  // Past the window, 61 s apart: only the day's total (120 so far) limits. 120 + 4 x 30 = 240 < 250
  // admits a fifth (-> 270); the sixth is refused until midnight UTC.
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
  EXPECT_EQ(admitted, 5);
  const auto usage = ledger.usage(k.id, utc_day(t0 / 1000), utc_day(t0 / 1000));
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].prompt_tokens + usage[0].completion_tokens, 270);
  EXPECT_TRUE(ledger.usage(k.id, "2099-01-01", "").empty());
}

TEST(QuotaLedger, CountsSurviveReopening) {
  const std::string path = temp_db();
  std::string id;
  const int64_t t0 = 1'700'000'000'000;
  {
    SqliteDb db(path);
    KeyStore keys(db);
    QuotaLedger ledger(db);
    const KeyRecord k = limited(keys, {2, 0, 0});
    id = k.id;
    EXPECT_TRUE(ledger.admit(k, t0).allowed);
    EXPECT_TRUE(ledger.admit(k, t0 + 1).allowed);
  }
  SqliteDb db(path);  // a restarted server
  KeyStore keys(db);
  QuotaLedger ledger(db);
  EXPECT_FALSE(ledger.admit(*keys.find(id), t0 + 2).allowed);
}

TEST(QuotaLedger, ExactAcrossTwoConnections) {
  // Two server processes sharing the database file: the limit holds summed over both.
  const std::string path = temp_db();
  SqliteDb a(path), b(path);
  KeyStore keys(a);
  QuotaLedger la(a), lb(b);
  const KeyRecord k = limited(keys, {10, 0, 0});
  int admitted = 0;
  for (int i = 0; i < 20; ++i) admitted += (i % 2 ? la : lb).admit(k, 1'700'000'000'000 + i).allowed;
  EXPECT_EQ(admitted, 10);
}

}  // namespace
}  // namespace citadel

namespace citadel {
namespace {

TEST(QuotaLedger, UnlimitedKeysCountUsageWithoutATransactionPerRequest) {
  const std::string path = temp_db();
  std::string id;
  const int64_t t0 = 1'700'000'000'000;
  {
    SqliteDb db(path);
    KeyStore keys(db);
    QuotaLedger ledger(db);
    const KeyRecord k = limited(keys, {0, 0, 0});
    id = k.id;
    for (int i = 0; i < 50; ++i) {
      const Admission a = ledger.admit(k, t0 + i);  // all within one second: nothing written yet
      ASSERT_TRUE(a.allowed);
      ledger.settle(k.id, a.ticket, 3, 4, t0 + i);
    }
    SqliteDb other(path);  // another process sees only what was written
    EXPECT_TRUE(QuotaLedger(other).usage(id, "", "").empty());
    const auto u = ledger.usage(id, "", "");  // this one writes first
    ASSERT_EQ(u.size(), 1u);
    EXPECT_EQ(u[0].requests, 50);
    EXPECT_EQ(u[0].prompt_tokens, 150);
    ledger.admit(k, t0 + 100);
  }  // the ledger's end writes the last count
  SqliteDb db(path);
  QuotaLedger ledger(db);
  EXPECT_EQ(ledger.usage(id, "", "").at(0).requests, 51);
}

}  // namespace
}  // namespace citadel
