#include "gateway/gateway.h"

#include <algorithm>

#include "gateway/outage.h"
#include "gateway/redis_rate_limiter.h"
#include "gateway/sql_db.h"

namespace citadel {

Gateway::Gateway(const GatewayOptions& options) : opt_(options) {
  if (!opt_.auth_db.empty()) {
    db_ = open_sql_db(opt_.auth_db);
    keys_ = std::make_unique<KeyStore>(*db_);
    std::shared_ptr<RedisRateLimiter> limits;  // (redis_url without auth_db: no keys, nothing to limit)
    if (!opt_.redis_url.empty()) limits = std::make_shared<RedisRateLimiter>(opt_.redis_url);
    quotas_ = std::make_unique<QuotaLedger>(*db_, limits);
  }
  if (!opt_.audit_log.empty())
    audit_ = std::make_unique<AuditLog>(AuditLogOptions{opt_.audit_log, opt_.audit_max_bytes, opt_.audit_fsync});
  // Keys may ask for a policy when the server and models say off, so the detector is built
  // whenever a policy is set anywhere or keys are on.
  bool any_policy = opt_.pii_policy != PiiPolicy::Off || keys_;
  for (const auto& [model, p] : opt_.model_pii_policies) any_policy |= p != PiiPolicy::Off;
  if (any_policy) pii_ = std::make_unique<PiiDetector>(opt_.pii.value_or(PiiConfig{}));
  if (opt_.cache) cache_ = make_response_cache(*opt_.cache);
}

PiiPolicy Gateway::pii_policy(const KeyRecord* caller, const std::string& model) const {
  PiiPolicy p = opt_.pii_policy;
  if (auto it = opt_.model_pii_policies.find(model); it != opt_.model_pii_policies.end()) p = it->second;
  if (caller && !caller->pii_policy.empty()) p = std::max(p, parse_pii_policy(caller->pii_policy));
  return pii_ ? p : PiiPolicy::Off;
}

Gateway::~Gateway() = default;

Verdict Gateway::check_access(const std::optional<std::string>& token, Access access, int64_t now_s,
                              std::optional<KeyRecord>* caller) const {
  caller->reset();
  if (!keys_ || access == Access::Open) return {};
  if (!token) return {401, "this server needs an API key: send Authorization: Bearer <key>", "missing_api_key"};
  try {
    *caller = keys_->authenticate(*token);
  } catch (const BackendUnavailable& e) {
    return unavailable(e);
  }
  if (!*caller) return {401, "the API key is not valid", "invalid_api_key"};
  const KeyRecord& k = **caller;
  if (k.disabled) return {403, "the API key '" + k.id + "' is disabled", "key_disabled"};
  if (k.expired(now_s)) return {403, "the API key '" + k.id + "' has expired", "key_expired"};
  if (!role_allows(k.role, access))
    return {403, std::string("the role '") + role_name(k.role) + "' may not use this endpoint", "permission_denied"};
  return {};
}

Verdict Gateway::admit(const KeyRecord& caller, const std::string& model, int64_t now_ms, int64_t* ticket) {
  *ticket = 0;
  if (!keys_) return {};
  if (!caller.may_use_model(model))
    return {403, "the API key '" + caller.id + "' may not use the model '" + model + "'", "model_not_allowed"};
  Admission a;
  try {
    a = quotas_->admit(caller, now_ms);
  } catch (const BackendUnavailable& e) {
    return unavailable(e);
  }
  if (!a.allowed)
    return {429, "the API key '" + caller.id + "' is over its limit of " + a.limit + "; retry in " +
                     std::to_string(a.retry_after) + " s",
            "rate_limit_exceeded", a.retry_after};
  *ticket = a.ticket;
  return {};
}

void Gateway::settle(const KeyRecord& caller, int64_t ticket, int64_t prompt_tokens, int64_t completion_tokens,
                     int64_t now_ms) {
  if (!quotas_ || !ticket) return;
  try {
    quotas_->settle(caller.id, ticket, prompt_tokens, completion_tokens, now_ms);
  } catch (const BackendUnavailable&) {  // the outage is logged; these tokens go uncounted
  }
}

Verdict Gateway::audit_ready() {
  if (!audit_ || !opt_.audit_fail_closed || audit_->healthy()) return {};
  return {503, "the audit trail cannot be written, so requests are refused until it can", "audit_unavailable", 5};
}

bool Gateway::audit(const AuditRecord& record, int64_t now_ms) {
  if (!audit_) return true;
  return audit_->append(audit_event_json(record, opt_.audit_content, opt_.audit_hmac_key, now_ms));
}

Verdict unavailable(const BackendUnavailable&) {
  // The details (host, error) are in the server's log, once per outage, not for clients.
  return {503, kBackendUnavailableMessage, "backend_unavailable", 1};
}

}  // namespace citadel
