#include "gateway/audit_record.h"

#include <ctime>
#include <stdexcept>

#include "gateway/digest.h"

namespace citadel {
namespace {

std::string rfc3339_ms(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

AuditContent parse_audit_content(const std::string& name) {
  if (name == "none") return AuditContent::None;
  if (name == "hmac") return AuditContent::Hmac;
  if (name == "text") return AuditContent::Text;
  throw std::invalid_argument("audit_content must be none, hmac or text (got '" + name + "')");
}

std::string audit_text_hmac(const std::string& hmac_key, const std::string& text) {
  return hmac_sha256_hex(hmac_key, text);
}

nlohmann::json audit_event_json(const AuditRecord& r, AuditContent content, const std::string& hmac_key, int64_t now_ms) {
  using nlohmann::json;
  const bool ok = r.status > 0 && r.status < 400;
  json e = {
      {"@timestamp", rfc3339_ms(now_ms)},
      {"event", {{"kind", "event"},
                 {"category", json::array({"web"})},
                 {"type", json::array({r.refusal.empty() ? "access" : "denied"})},
                 {"action", "api-call"},
                 {"outcome", ok ? "success" : "failure"},
                 {"duration", static_cast<int64_t>(r.duration_seconds * 1e9)}}},
      {"client", {{"ip", r.client_ip}}},
      {"http", {{"request", {{"method", r.method}, {"id", r.request_id}}}, {"response", {{"status_code", r.status}}}}},
      {"url", {{"path", r.path}}},
  };
  if (!r.key_id.empty()) {
    e["user"] = {{"id", r.key_id}, {"name", r.key_name}};
    if (r.role) e["user"]["roles"] = json::array({role_name(*r.role)});
  }
  if (!r.tls_subject.empty()) e["tls"] = {{"client", {{"subject", r.tls_subject}}}};
  json c = json::object();
  if (!r.model.empty()) c["model"] = r.model;
  if (r.prompt_tokens || r.completion_tokens)
    c["usage"] = {{"prompt_tokens", r.prompt_tokens},
                  {"completion_tokens", r.completion_tokens},
                  {"total_tokens", r.prompt_tokens + r.completion_tokens}};
  if (!r.refusal.empty()) c["refusal"] = r.refusal;
  if (!r.cache.empty()) c["cache"] = r.cache;
  if (content != AuditContent::None && (!r.inputs.empty() || !r.outputs.empty())) {
    auto keep = [&](const std::vector<std::string>& texts) {
      json out = json::array();
      for (const auto& t : texts) out.push_back(content == AuditContent::Text ? t : audit_text_hmac(hmac_key, t));
      return out;
    };
    c["content"] = {{"mode", content == AuditContent::Text ? "text" : "hmac-sha256"},
                    {"prompt", keep(r.inputs)},
                    {"completion", keep(r.outputs)}};
  }
  e["citadel"] = c;
  return e;
}

}  // namespace citadel
