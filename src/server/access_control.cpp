#include "server/access_control.h"

#include <httplib.h>

#include <chrono>
#include <fstream>
#include <iterator>

#include "engine/engine.h"
#include "gateway/auth_header.h"
#include "gateway/cached_answer.h"
#include "gateway/pii_stream_redactor.h"
#include "gateway/gateway.h"
#include "model/lora_adapter.h"
#include "server/api_error.h"
#include "server/metrics_routes.h"
#include "server/route_context.h"
#include "server/served_model.h"
#include "server/upstream_forward.h"
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
  o.redis_url = c.redis_url;
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
  o.pii_policy = parse_pii_policy(c.pii_policy);
  for (const auto& m : c.models)
    if (!m.pii_policy.empty()) o.model_pii_policies[m.id] = parse_pii_policy(m.pii_policy);
  if (!c.pii_config_json.empty()) {
    try {
      o.pii = pii_config_from_json(nlohmann::json::parse(c.pii_config_json), c.pii_config_dir);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("pii: ") + e.what());
    }
  }
  if (!c.cache.empty()) o.cache = ResponseCacheOptions{c.cache, c.cache_ttl, c.cache_max_bytes};
  o.cache_sampled = c.cache_sampled;
  return o;
}

bool gateway_wanted(const ServerConfig& c) {
  bool model_policy = false;
  for (const auto& m : c.models) model_policy |= !m.pii_policy.empty() && m.pii_policy != "off";
  return !c.auth_db.empty() || !c.audit_log.empty() || c.pii_policy != "off" || model_policy || !c.cache.empty();
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
  s.gateway = g;
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
  for (const auto& m : ctx.models)  // a model served by other engines takes the OpenAI routes only
    if (m->id == model_id && m->upstream && s.request && !forwardable_path(s.request->path))
      throw ApiError(400, "the model '" + model_id + "' is served by other engines: use /v1/chat/completions, "
                     "/v1/completions, /v1/embeddings or /generate", "model", "model_not_supported");
  if (!ctx.gateway) return;
  if (s.caller && !s.quota_ticket) {
    const Verdict v = ctx.gateway->admit(*s.caller, model_id, now_ms(), &s.quota_ticket);
    if (v) {
      s.refusal = v.code;
      if (v.status == 429) server_metrics().counter_add("citadel_rate_limit_refusals_total", {});
      throw ApiError(v.status, v.message, v.status == 403 ? "model" : "", v.code).with_retry_after(v.retry_after);
    }
  }
  s.pii_policy = ctx.gateway->pii_policy(s.caller ? &*s.caller : nullptr, model_id);
  if (s.pii_policy != PiiPolicy::Off && !s.redactor)
    s.redactor = std::make_shared<PiiRedactor>(*ctx.gateway->pii_detector());
}

std::string model_input_text(const std::string& text) {
  RequestScope& s = current_request();
  return s.redactor && pii_redacts_input(s.pii_policy) ? s.redactor->redact(text) : text;
}

std::shared_ptr<RequestStream> submit_through_gateway(ServedModel& m, GenerationRequest r, const std::string& constraint) {
  RequestScope& s = current_request();
  if (s.lora && !r.lora) r.lora = s.lora, r.adapter = s.adapter;  // "<model>:<adapter>" (model_for)
  Gateway* g = s.active ? s.gateway : nullptr;
  std::shared_ptr<RequestStream> stream;
  std::optional<std::string> key;
  // The cache stays out when the client says no-cache, and under log-only when the prompt held
  // PII: the model saw the raw values, so its answer may hold them and may not be shared.
  const bool no_cache = s.request && s.request->get_header_value("Cache-Control").find("no-cache") != std::string::npos;
  const bool raw_pii = s.pii_policy == PiiPolicy::LogOnly && s.redactor && s.redactor->placeholders() > 0;
  if (g && g->cache() && (no_cache || raw_pii) && s.cache.empty()) s.cache = "bypass";
  if (g && g->cache() && !no_cache && !raw_pii) {
    // An adapter's answers are its own: keyed by its name and the hash of its weights (a name
    // loaded again with another file never replays the old file's answers).
    CacheScope scope{r.lora ? m.id + ":" + r.adapter + "@" + std::to_string(r.lora->cache_key()) : m.id, "*", constraint};
    if (s.caller && !s.caller->models.empty()) {
      scope.permissions.clear();
      for (const auto& id : s.caller->models) scope.permissions += id + ",";
    }
    key = cache_key(r, scope, g->options().cache_sampled);
  }
  if (key) {
    if (auto bytes = g->cache()->get(*key)) {
      if (auto answer = decode_answer(*bytes)) {
        stream = RequestStream::replay(std::move(answer->first), answer->second);
        s.cache = "hit";
        server_metrics().counter_add("citadel_response_cache_hits_total", {{"model", m.id}});
      }
    }
  }
  if (!stream) {
    stream = m.engine->submit(std::move(r), key.has_value());
    if (key) {
      s.cache_puts.emplace_back(stream, *key);
      if (s.cache.empty()) s.cache = "miss";
      server_metrics().counter_add("citadel_response_cache_misses_total", {{"model", m.id}});
    }
  }
  if (!s.cache.empty() && s.response) s.response->set_header("X-Citadel-Cache", s.cache);
  // What the caller reads: the originals back (redact-input) or the model's own PII hidden too (redact-both).
  if (s.redactor && pii_restores_output(s.pii_policy)) {
    auto restorer = std::make_shared<PiiStreamRestorer>(*s.redactor);
    auto keep = s.redactor;  // the placeholders live as long as the stream is read
    stream->set_text_filter([restorer, keep](const std::string& text, bool end) {
      return end ? restorer->finish() : restorer->push(text);
    });
  } else if (s.redactor && pii_redacts_output(s.pii_policy)) {
    auto redactor = std::make_shared<PiiStreamRedactor>(*g->pii_detector(), *s.redactor);
    auto keep = s.redactor;
    stream->set_text_filter([redactor, keep](const std::string& text, bool end) {
      return end ? redactor->finish() : redactor->push(text);
    });
  }
  return stream;
}

void finish_gateway(const RouteContext& ctx, const httplib::Request& req, const httplib::Response& res, double seconds,
                    const std::string& model) {
  Gateway* g = ctx.gateway;
  RequestScope& s = current_request();
  if (!g || !s.active) return;
  const int64_t t = now_ms();
  if (s.caller && s.quota_ticket) g->settle(*s.caller, s.quota_ticket, s.prompt_tokens, s.completion_tokens, t);
  // Answers that finished are stored now, after the client has them (failed or cut ones never).
  for (const auto& [stream, key] : s.cache_puts) {
    const GenerationResult& result = stream->result();
    if (result.reason == FinishReason::Stop || result.reason == FinishReason::Length)
      g->cache()->put(key, encode_answer(stream->recorded(), result));
  }
  s.cache_puts.clear();
  s.redactor.reset();
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
  r.cache = s.cache;
  g->audit(r, t);  // a failing trail shows in citadel_audit_write_failures_total and refuses the next calls
}

}  // namespace citadel
