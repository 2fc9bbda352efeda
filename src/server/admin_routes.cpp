// The admin API, present when keys are on (--auth-db): keys (admins), usage and the audit trail
// (admins and auditors). server/access_control.cpp has already checked the caller's role.
//   GET    /admin/keys                    list
//   POST   /admin/keys                    create: {name, role, models, expires, rpm, tpm, tokens_per_day, pii_policy}
//   DELETE /admin/keys/{id}               revoke
//   POST   /admin/keys/{id}/rotate        new secret; POST .../disable, .../enable
//   GET    /admin/usage?key=&from=&to=    per key and UTC day
//   GET    /admin/audit?limit=N           the trail's last N lines (at most 1000)
//   GET    /admin/audit/verify            the hash chain's state
#include <httplib.h>

#include <algorithm>
#include <ctime>
#include <deque>
#include <fstream>

#include "gateway/gateway.h"
#include "gateway/pii_policy.h"
#include "server/api_error.h"
#include "server/json_fields.h"
#include "server/route_context.h"

namespace citadel {
namespace {

using json = nlohmann::json;


KeyStore& keys_of(RouteContext& ctx) {
  if (!ctx.gateway || !ctx.gateway->keys_on())
    throw ApiError(404, "this server runs without --auth-db: there is no admin API", "", "not_found");
  return *ctx.gateway->keys();
}

AuditLog& audit_of(RouteContext& ctx) {
  keys_of(ctx);  // the trail is read through keys only: no keys, no admin API
  if (!ctx.gateway->audit_on()) throw ApiError(404, "this server runs without --audit-log", "", "not_found");
  return *ctx.gateway->audit_log();
}

KeySpec key_spec(const json& body) {
  KeySpec spec;
  spec.name = required_string(body, "name");
  try {
    check_key_name(spec.name);
    spec.role = parse_role(get_string(body, "role", "user"));
    if (auto e = get_optional_string(body, "expires")) spec.expires = parse_expiry(*e, std::time(nullptr));
    if (auto p = get_optional_string(body, "pii_policy")) spec.pii_policy = pii_policy_name(parse_pii_policy(*p));
  } catch (const std::invalid_argument& e) {
    throw ApiError(400, e.what(), "", "invalid_value");
  }
  if (auto it = body.find("models"); it != body.end() && !it->is_null()) {
    if (!it->is_array() || it->size() > 1000) throw invalid_field("models", "must be an array of model ids");
    for (const auto& m : *it) {
      if (!m.is_string() || m.get<std::string>().empty()) throw invalid_field("models", "must hold model ids");
      spec.models.push_back(m.get<std::string>());
    }
  }
  constexpr int64_t kMax = int64_t{1} << 50;
  spec.quota = {get_int(body, "rpm", 0, 0, kMax), get_int(body, "tpm", 0, 0, kMax), get_int(body, "tokens_per_day", 0, 0, kMax)};
  return spec;
}

std::deque<std::string> last_lines(const std::string& path, size_t limit) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  for (std::string l; std::getline(in, l);) {
    lines.push_back(std::move(l));
    if (lines.size() > limit) lines.pop_front();
  }
  return lines;
}

}  // namespace

void register_admin_routes(httplib::Server& http, RouteContext& ctx) {
  http.Get("/admin/keys", [&ctx](const httplib::Request&, httplib::Response& res) {
    json data = json::array();
    for (const auto& k : keys_of(ctx).list()) data.push_back(key_record_json(k));
    send_json(res, {{"object", "list"}, {"data", data}});
  });
  http.Post("/admin/keys", [&ctx](const httplib::Request& req, httplib::Response& res) {
    KeyStore& keys = keys_of(ctx);
    const KeySpec spec = key_spec(parse_json_body(req.body));
    std::pair<KeyRecord, std::string> made;
    try {
      made = keys.create(spec, std::time(nullptr));
    } catch (const std::invalid_argument& e) {
      throw ApiError(400, e.what(), "", "invalid_value");
    }
    auto& [rec, key] = made;
    json out = key_record_json(rec);
    out["key"] = key;  // the only time it is shown
    send_json(res, out, 201);
  });
  http.Delete(R"(/admin/keys/([0-9a-f]{1,64}))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    if (!keys_of(ctx).revoke(id)) throw ApiError(404, "no key with id '" + id + "'", "", "not_found");
    send_json(res, {{"id", id}, {"revoked", true}});
  });
  http.Post(R"(/admin/keys/([0-9a-f]{1,64})/(rotate|disable|enable))",
            [&ctx](const httplib::Request& req, httplib::Response& res) {
              KeyStore& keys = keys_of(ctx);
              const std::string id = req.matches[1], action = req.matches[2];
              const auto missing = [&] { return ApiError(404, "no key with id '" + id + "'", "", "not_found"); };
              if (action == "rotate") {
                const auto key = keys.rotate(id);
                if (!key) throw missing();
                send_json(res, {{"id", id}, {"key", *key}});
                return;
              }
              if (!keys.set_disabled(id, action == "disable")) throw missing();
              send_json(res, key_record_json(*keys.find(id)));
            });
  http.Get("/admin/usage", [&ctx](const httplib::Request& req, httplib::Response& res) {
    keys_of(ctx);
    auto day = [&](const char* name) {
      const std::string v = req.get_param_value(name);
      if (!v.empty() && (v.size() != 10 || v[4] != '-' || v[7] != '-'))
        throw ApiError(400, std::string("'") + name + "' must be a day like 2026-12-02", name, "invalid_value");
      return v;
    };
    json data = json::array();
    for (const auto& u : ctx.gateway->quotas()->usage(req.get_param_value("key"), day("from"), day("to")))
      data.push_back(day_usage_json(u));
    send_json(res, {{"object", "list"}, {"data", data}});
  });
  http.Get("/admin/audit", [&ctx](const httplib::Request& req, httplib::Response& res) {
    AuditLog& log = audit_of(ctx);
    log.flush();  // what was queued before this call is on disk
    size_t limit = 100;
    if (req.has_param("limit")) {
      try {
        limit = std::clamp<size_t>(std::stoul(req.get_param_value("limit")), 1, 1000);
      } catch (const std::exception&) {
        throw ApiError(400, "'limit' must be a number from 1 to 1000", "limit", "invalid_value");
      }
    }
    json data = json::array();
    for (const auto& l : last_lines(ctx.gateway->options().audit_log, limit)) {
      json j = json::parse(l, nullptr, false);
      if (!j.is_discarded()) data.push_back(std::move(j));
    }
    send_json(res, {{"object", "list"}, {"data", data}});
  });
  http.Get("/admin/audit/verify", [&ctx](const httplib::Request&, httplib::Response& res) {
    audit_of(ctx);
    const AuditVerifyResult r = verify_audit_trail(audit_trail_files(ctx.gateway->options().audit_log));
    json out = {{"intact", r.ok}, {"lines", r.lines}};
    if (!r.ok) out["problem"] = {{"file", r.file}, {"line", r.line}, {"what", r.problem}};
    send_json(res, out);
  });
}

}  // namespace citadel
