#include "gateway/key_store.h"

#include <algorithm>
#include <stdexcept>

#include "gateway/api_key.h"
#include "gateway/pii_policy.h"
#include "gateway/outage.h"
#include "gateway/sql_db.h"

namespace citadel {
namespace {

const char* const kColumns = "id, name, role, models, created, expires, disabled, rpm, tpm, tokens_per_day, pii_policy";

KeyRecord record_of(const SqlDb::Row& r) {
  KeyRecord k;
  k.id = as_text(r[0]);
  k.name = as_text(r[1]);
  k.role = parse_role(as_text(r[2]));
  const std::string models = as_text(r[3]);
  if (!models.empty()) k.models = nlohmann::json::parse(models).get<std::vector<std::string>>();
  k.created = as_int(r[4]);
  k.expires = as_int(r[5]);
  k.disabled = as_int(r[6]) != 0;
  k.quota = {as_int(r[7]), as_int(r[8]), as_int(r[9])};
  k.pii_policy = as_text(r[10]);
  return k;
}

}  // namespace

bool KeyRecord::may_use_model(const std::string& model) const {
  return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
}

nlohmann::json key_record_json(const KeyRecord& k) {
  return {{"id", k.id},
          {"name", k.name},
          {"role", role_name(k.role)},
          {"models", k.models},
          {"created", k.created},
          {"expires", k.expires == 0 ? nlohmann::json(nullptr) : nlohmann::json(k.expires)},
          {"disabled", k.disabled},
          {"rpm", k.quota.requests_per_minute},
          {"tpm", k.quota.tokens_per_minute},
          {"tokens_per_day", k.quota.tokens_per_day},
          {"pii_policy", k.pii_policy.empty() ? nlohmann::json(nullptr) : nlohmann::json(k.pii_policy)}};
}

int64_t parse_expiry(const std::string& text, int64_t now) {
  if (text.empty() || text == "never") return 0;
  size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  int64_t scale = 0;
  if (unit.empty() || unit == "s") scale = 1;
  else if (unit == "m") scale = 60;
  else if (unit == "h") scale = 3600;
  else if (unit == "d") scale = 86400;
  if (used == 0 || scale == 0 || n <= 0 || n > 100LL * 365 * 86400 / scale)
    throw std::invalid_argument("expiry '" + text + "' is not a duration like 30d, 12h, 90m or 3600s");
  return now + n * scale;
}

void check_key_name(const std::string& name) {
  if (name.empty() || name.size() > 200) throw std::invalid_argument("a key name has 1 to 200 bytes");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) throw std::invalid_argument("a key name has no control characters");
}

KeyStore::KeyStore(SqlDb& db) : db_(db) {
  try {
    ensure_schema();
  } catch (const BackendUnavailable&) {  // logged by the database; tried again on first use
  }
}

void KeyStore::ensure_schema() const {
  if (schema_ready_) return;
  std::lock_guard<std::mutex> lock(schema_mu_);
  if (schema_ready_) return;
  db_.transaction([&] {  // serialised: replicas starting together do not race to create the table
    db_.execute(
        "CREATE TABLE IF NOT EXISTS api_keys ("
        " id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, models TEXT NOT NULL DEFAULT '',"
        " hash TEXT NOT NULL, created BIGINT NOT NULL, expires BIGINT NOT NULL DEFAULT 0,"
        " disabled BIGINT NOT NULL DEFAULT 0, revoked BIGINT NOT NULL DEFAULT 0,"
        " rpm BIGINT NOT NULL DEFAULT 0, tpm BIGINT NOT NULL DEFAULT 0, tokens_per_day BIGINT NOT NULL DEFAULT 0,"
        " pii_policy TEXT NOT NULL DEFAULT '')");
    // Databases made before a column existed get it (an older server's file keeps working).
    if (!db_.has_column("api_keys", "pii_policy"))
      db_.execute("ALTER TABLE api_keys ADD COLUMN pii_policy TEXT NOT NULL DEFAULT ''");
  });
  schema_ready_ = true;
}

std::pair<KeyRecord, std::string> KeyStore::create(const KeySpec& spec, int64_t now) {
  check_key_name(spec.name);
  for (const std::string& m : spec.models)
    if (m.empty() || m.size() > 200) throw std::invalid_argument("a model name has 1 to 200 bytes");
  if (!spec.pii_policy.empty()) parse_pii_policy(spec.pii_policy);  // throws for an unknown one
  const KeyQuota& q = spec.quota;
  if (q.requests_per_minute < 0 || q.tokens_per_minute < 0 || q.tokens_per_day < 0)
    throw std::invalid_argument("quotas are 0 (unlimited) or positive");
  ensure_schema();
  for (;;) {  // a 48-bit id collides with another key once in ~10^14 creations: take another
    const GeneratedKey g = generate_api_key();
    const std::string models = spec.models.empty() ? "" : nlohmann::json(spec.models).dump();
    const int64_t added = db_.execute(
        "INSERT INTO api_keys (id, name, role, models, hash, created, expires, rpm, tpm, tokens_per_day,"
        " pii_policy) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT DO NOTHING",
        {g.id, spec.name, std::string(role_name(spec.role)), models, g.hash, now, spec.expires, q.requests_per_minute,
         q.tokens_per_minute, q.tokens_per_day, spec.pii_policy});
    if (added == 1) return {*find(g.id), g.key};
  }
}

std::vector<KeyRecord> KeyStore::list() const {
  ensure_schema();
  std::vector<KeyRecord> out;
  for (const auto& r : db_.query(std::string("SELECT ") + kColumns + " FROM api_keys WHERE revoked = 0 ORDER BY created, id"))
    out.push_back(record_of(r));
  return out;
}

std::optional<KeyRecord> KeyStore::find(const std::string& id) const {
  ensure_schema();
  const auto rows = db_.query(std::string("SELECT ") + kColumns + " FROM api_keys WHERE id = ?1 AND revoked = 0", {id});
  if (rows.empty()) return std::nullopt;
  return record_of(rows[0]);
}

std::optional<KeyRecord> KeyStore::authenticate(std::string_view key) const {
  const std::optional<std::string> id = api_key_id(key);
  if (!id) return std::nullopt;
  ensure_schema();
  const auto rows =
      db_.query(std::string("SELECT ") + kColumns + ", hash FROM api_keys WHERE id = ?1 AND revoked = 0", {*id});
  if (rows.empty() || !hashes_equal(as_text(rows[0][11]), key_hash(key))) return std::nullopt;
  return record_of(rows[0]);
}

bool KeyStore::revoke(const std::string& id) {
  ensure_schema();
  return db_.execute("UPDATE api_keys SET revoked = 1, disabled = 1, hash = '' WHERE id = ?1 AND revoked = 0", {id}) == 1;
}

bool KeyStore::set_disabled(const std::string& id, bool disabled) {
  ensure_schema();
  return db_.execute("UPDATE api_keys SET disabled = ?2 WHERE id = ?1 AND revoked = 0",
                     {id, static_cast<int64_t>(disabled ? 1 : 0)}) == 1;
}

std::optional<std::string> KeyStore::rotate(const std::string& id) {
  ensure_schema();
  const GeneratedKey g = generate_api_key(id);
  if (db_.execute("UPDATE api_keys SET hash = ?2 WHERE id = ?1 AND revoked = 0", {id, g.hash}) != 1) return std::nullopt;
  return g.key;
}

size_t KeyStore::count() const {
  ensure_schema();
  return static_cast<size_t>(as_int(db_.query("SELECT COUNT(*) FROM api_keys WHERE revoked = 0")[0][0]));
}

}  // namespace citadel
