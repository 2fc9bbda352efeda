// API keys in the key database (--auth-db: a SQLite file, or PostgreSQL shared by gateway
// replicas; gateway/sql_db.h): who each key belongs to, its role, the models it may use, expiry,
// the disabled flag and its quotas. Only the SHA-256 of a key is kept; the key itself is returned
// once, on creation or rotation. Every read goes to the database (a key revoked through one
// replica is refused by all at once); BackendUnavailable while PostgreSQL cannot be reached.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/role.h"

namespace citadel {

class SqlDb;

struct KeyQuota {
  int64_t requests_per_minute = 0;  // 0: unlimited
  int64_t tokens_per_minute = 0;    // prompt + completion
  int64_t tokens_per_day = 0;       // prompt + completion, per UTC day
};

struct KeySpec {
  std::string name;
  Role role = Role::User;
  std::vector<std::string> models;  // empty: every model
  int64_t expires = 0;              // unix seconds; 0: never
  KeyQuota quota;
  std::string pii_policy;           // "" : the model's / server's; else off, log-only, redact-input, redact-both
};

struct KeyRecord {
  std::string id, name;
  Role role = Role::User;
  std::vector<std::string> models;
  int64_t created = 0, expires = 0;
  bool disabled = false;
  KeyQuota quota;
  std::string pii_policy;

  bool expired(int64_t now) const { return expires != 0 && now >= expires; }
  bool may_use_model(const std::string& model) const;
};

// {"id","name","role","models","created","expires","disabled","rpm","tpm","tokens_per_day","pii_policy"}.
nlohmann::json key_record_json(const KeyRecord& k);

// "30d", "12h", "90m", "3600s" (or a bare number of seconds) from now; "never" or "" gives 0.
// Throws std::invalid_argument.
int64_t parse_expiry(const std::string& text, int64_t now);
// Names are 1..200 bytes without control characters; throws std::invalid_argument otherwise.
void check_key_name(const std::string& name);

class KeyStore {
 public:
  // Creates the tables if needed (when the database is unreachable now, on first use). The
  // database outlives the store.
  explicit KeyStore(SqlDb& db);

  // A new key: its record and the key itself (shown once).
  std::pair<KeyRecord, std::string> create(const KeySpec& spec, int64_t now);
  std::vector<KeyRecord> list() const;
  std::optional<KeyRecord> find(const std::string& id) const;
  // The record of a presented key when it is one of ours (expired and disabled keys included:
  // the caller refuses those with 403); nullopt for anything else (401).
  std::optional<KeyRecord> authenticate(std::string_view key) const;
  // Revoked keys stop authenticating for good (their usage history stays). False: no such key.
  bool revoke(const std::string& id);
  bool set_disabled(const std::string& id, bool disabled);
  // A new secret for the same id, role, models and quotas; the old key stops working at once.
  std::optional<std::string> rotate(const std::string& id);
  size_t count() const;

 private:
  void ensure_schema() const;
  SqlDb& db_;
  mutable std::mutex schema_mu_;
  mutable std::atomic<bool> schema_ready_{false};
};

}  // namespace citadel
