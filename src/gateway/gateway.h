// What a request must pass before the engine sees it, and what is kept of it: the one object the
// server asks. Keys on (--auth-db): who is calling (401), may they (403), how much have they used
// (429); the audit trail (--audit-log): one line per call, failing closed (503) when it cannot be
// written; the PII policy a request runs under and its detector; the response cache. Each part is
// off when not configured: then everything is allowed and nothing kept.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "gateway/audit_log.h"
#include "gateway/audit_record.h"
#include "gateway/key_store.h"
#include "gateway/pii.h"
#include "gateway/quota_ledger.h"
#include "gateway/response_cache.h"
#include "gateway/role.h"

namespace citadel {

class SqlDb;

struct GatewayOptions {
  std::string auth_db;                   // keys and usage: a SQLite file or postgresql://...; empty: no keys (open server)
  std::string redis_url;                 // rate limits and quotas in Redis (redis://HOST[:PORT][/DB]); empty: in auth_db
  std::string audit_log;                 // audit trail file; empty: none
  int64_t audit_max_bytes = 256LL << 20;  // rotation size
  bool audit_fsync = true;               // fdatasync each batch (a crash loses at most the batch in flight)
  bool audit_fail_closed = true;         // refuse requests (503) while the trail cannot be written
  AuditContent audit_content = AuditContent::None;
  std::string audit_hmac_key;            // the secret for AuditContent::Hmac (its file's bytes)
  PiiPolicy pii_policy = PiiPolicy::Off;  // the server's; models and keys may ask for more
  std::map<std::string, PiiPolicy> model_pii_policies;
  std::optional<PiiConfig> pii;          // the detectors (built when any policy may be on)
  std::optional<ResponseCacheOptions> cache;  // null: no response cache
  bool cache_sampled = false;            // also cache sampled answers without a fixed seed
};

// A refusal: the HTTP status, a message for the client and an error code; Retry-After seconds
// for 429 and 503. status 0: allowed.
struct Verdict {
  int status = 0;
  std::string message, code;
  int64_t retry_after = 0;
  explicit operator bool() const { return status != 0; }  // true: refused
};

class BackendUnavailable;
// 503 with Retry-After: 1 for a shared backend that cannot be reached.
Verdict unavailable(const BackendUnavailable& e);
inline constexpr const char* kBackendUnavailableMessage =
    "the gateway cannot reach its key database or rate-limit store: retry shortly";

class Gateway {
 public:
  // Opens the key database and the audit trail as configured; throws std::runtime_error.
  explicit Gateway(const GatewayOptions& options);
  ~Gateway();

  bool keys_on() const { return keys_ != nullptr; }
  bool audit_on() const { return audit_ != nullptr; }

  // Who is calling a route of `access`: the token from the request's headers (nullopt when absent
  // or malformed). On success *caller is the key's record. Open routes, and every route when keys
  // are off, pass without a caller.
  Verdict check_access(const std::optional<std::string>& token, Access access, int64_t now_s,
                       std::optional<KeyRecord>* caller) const;
  // May `caller` run `model`, and is it within its limits? Counts the request when admitted
  // (*ticket then goes to settle()).
  Verdict admit(const KeyRecord& caller, const std::string& model, int64_t now_ms, int64_t* ticket);
  void settle(const KeyRecord& caller, int64_t ticket, int64_t prompt_tokens, int64_t completion_tokens, int64_t now_ms);

  // 503 while the audit trail cannot be written and the gateway fails closed.
  Verdict audit_ready();
  // Queues the call's line; false while the trail is failing (the line stays queued).
  bool audit(const AuditRecord& record, int64_t now_ms);
  AuditContent audit_content() const { return opt_.audit_content; }

  // The policy a request runs under: the strictest of the model's (else the server's) and the
  // key's (off < log-only < redact-input < redact-both).
  PiiPolicy pii_policy(const KeyRecord* caller, const std::string& model) const;
  const PiiDetector* pii_detector() const { return pii_.get(); }
  ResponseCache* cache() { return cache_.get(); }

  KeyStore* keys() { return keys_.get(); }
  QuotaLedger* quotas() { return quotas_.get(); }
  AuditLog* audit_log() { return audit_.get(); }
  const GatewayOptions& options() const { return opt_; }

 private:
  GatewayOptions opt_;
  std::unique_ptr<SqlDb> db_;
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<QuotaLedger> quotas_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<PiiDetector> pii_;
  std::unique_ptr<ResponseCache> cache_;
};

}  // namespace citadel
