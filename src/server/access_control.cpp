#include "server/access_control.h"

#include <httplib.h>

#include <chrono>
#include <fstream>
#include <iterator>

#include "gateway/auth_header.h"
#include "gateway/gateway.h"
#include "server/api_error.h"
#include "server/metrics_routes.h"
#include "server/route_context.h"
#include "server/server_config.h"

namespace citadel {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// The key a request presents: Authorization: Bearer, else x-api-key (Anthropic's clients).
std::optional<std::string> presented_token(const httplib::Request& req) {
  if (req.has_header("Authorization")) return bearer_token(req.get_header_value("Authorization"));
  if (req.has_header("x-api-key")) return api_key_header(req.get_header_value("x-api-key"));
  return std::nullopt;
}

void refuse(const httplib::Request& req, httplib::Response& res, const Verdict& v) {
  RequestScope& s = current_request();
  s.refusal = v.code;
  if (v.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  // In the shape of the route's API: a 401 on /v1/messages is Anthropic's, on /api/chat Ollama's.
  send_error(res, req.path, ApiError(v.status, v.message, "", v.code).with_retry_after(v.retry_after));
  if (v.status == 429) server_metrics().counter_add("citadel_rate_limit_refusals_total", {});
}

}  // namespace

GatewayOptions gateway_options(const ServerConfig& c) {
  GatewayOptions o;
  o.auth_db = c.auth_db;
  o.audit_log = c.audit_log;
  o.audit_max_bytes = c.audit_max_bytes;
  o.audit_fsync = c.audit_fsync;
  o.audit_fail_closed = c.audit_on_failure != "continue";
  o.audit_content = parse_audit_content(c.audit_content);
  if (!c.audit_hmac_key_file.empty()) {
    std::ifstream in(c.audit_hmac_key_file, std::ios::binary);
    o.audit_hmac_key.assign(std::istreambuf_iterator<char>(in), {});
    if (!in.good() && !in.eof()) throw std::runtime_error("cannot read audit_hmac_key_file '" + c.audit_hmac_key_file + "'");
    if (o.audit_hmac_key.size() < 16)
      throw std::runtime_error("audit_hmac_key_file '" + c.audit_hmac_key_file + "' must hold a secret of 16 bytes or more");
  }
  return o;
}

Access route_access(const std::string& method, const std::string& path) {
  if (path == "/health" || (method == "GET" && path == "/")) return Access::Open;
  if (path == "/metrics") return Access::Metrics;
  if (path == "/v1/models" || starts_with(path, "/v1/models/") || path == "/api/tags" || path == "/api/version" ||
      path == "/api/ps" || path == "/api/show")
    return Access::ModelList;
  if (starts_with(path, "/admin/usage") || starts_with(path, "/admin/audit")) return Access::Audit;
  if (starts_with(path, "/admin/")) return Access::Manage;
  return Access::Inference;  // every other route, unknown ones included: no key, no 404 either
}

bool pass_gateway(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  Gateway* g = ctx.gateway;
  if (!g) return true;
  RequestScope& s = current_request();
  const Access access = route_access(req.method, req.path);
  s.audited = g->audit_on() && access != Access::Open && access != Access::Metrics;
  s.keep_texts = s.audited && g->audit_content() != AuditContent::None;
  if (access == Access::Metrics) {
    // Prometheus scrapes: open when configured, or with the metrics key, or an admin/auditor key.
    if (!g->keys_on() || ctx.config.metrics_open) return true;
    if (!ctx.config.metrics_key.empty() && req.get_header_value("Authorization") == "Bearer " + ctx.config.metrics_key)
      return true;
  }
  const Verdict v = g->check_access(presented_token(req), access, now_ms() / 1000, &s.caller);
  if (v) {
    refuse(req, res, v);
    return false;
  }
  if (s.audited) {
    if (const Verdict a = g->audit_ready()) {
      server_metrics().counter_add("citadel_audit_refusals_total", {});
      refuse(req, res, a);
      return false;
    }
  }
  return true;
}

void admit_to_model(const RouteContext& ctx, const std::string& model_id) {
  RequestScope& s = current_request();
  if (!ctx.gateway || !s.caller || s.quota_ticket) return;
  const Verdict v = ctx.gateway->admit(*s.caller, model_id, now_ms(), &s.quota_ticket);
  if (!v) return;
  s.refusal = v.code;
  if (v.status == 429) server_metrics().counter_add("citadel_rate_limit_refusals_total", {});
  throw ApiError(v.status, v.message, v.status == 403 ? "model" : "", v.code).with_retry_after(v.retry_after);
}

void finish_gateway(const RouteContext& ctx, const httplib::Request& req, const httplib::Response& res, double seconds,
                    const std::string& model) {
  Gateway* g = ctx.gateway;
  RequestScope& s = current_request();
  if (!g || !s.active) return;
  const int64_t t = now_ms();
  if (s.caller && s.quota_ticket) g->settle(*s.caller, s.quota_ticket, s.prompt_tokens, s.completion_tokens, t);
  if (!s.audited) return;
  AuditRecord r;
  r.request_id = s.id;
  r.method = req.method;
  r.path = req.path;
  r.client_ip = req.remote_addr;
  r.model = model;
  if (s.caller) {
    r.key_id = s.caller->id;
    r.key_name = s.caller->name;
    r.role = s.caller->role;
  }
  r.status = res.status;
  r.prompt_tokens = s.prompt_tokens;
  r.completion_tokens = s.completion_tokens;
  r.duration_seconds = seconds;
  r.refusal = s.refusal;
  r.inputs = std::move(s.inputs);
  r.outputs = std::move(s.outputs);
  g->audit(r, t);  // a failing trail shows in citadel_audit_write_failures_total and refuses the next calls
}

}  // namespace citadel
