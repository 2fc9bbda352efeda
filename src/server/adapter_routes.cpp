// The LoRA adapters of the served models, at run time (docs/finetune.md). Admin API: present when
// keys are on (--auth-db); server/access_control.cpp restricts every /admin/ route to admin keys.
//   GET    /admin/adapters                      list: [{id, model, name, path, scale, parameters, loaded_at}]
//   POST   /admin/adapters                      load: {name, path, model?, scale?, replace?} -> 201
//                                                (model: the first model run here when absent; a bad or
//                                                misfit file: 400; the name taken: 409)
//   DELETE /admin/adapters/{model}:{name}       unload (requests already running finish with it)
// Loaded adapters are requested as "model": "<model>:<name>" and listed by GET /v1/models.
#include <httplib.h>

#include "core/gguf.h"
#include "gateway/gateway.h"
#include "server/api_error.h"
#include "server/json_fields.h"
#include "server/route_context.h"

namespace citadel {
namespace {

using json = nlohmann::json;


void require_admin_api(const RouteContext& ctx) {
  if (!ctx.gateway || !ctx.gateway->keys_on())
    throw ApiError(404, "this server runs without --auth-db: there is no admin API", "", "not_found");
  if (!ctx.ready) throw ApiError(503, "the models are still loading", "", "loading");
}

// The model `id` names ("": the first model run here). Models forwarded to upstream engines have
// no engine and no registry here (ServedModel::adapters null): 400, never a null dereference.
ServedModel& served(RouteContext& ctx, const std::string& id) {
  for (auto& m : ctx.models) {
    if (id.empty() ? !m->adapters : m->id != id) continue;
    if (!m->adapters)
      throw ApiError(400, "the model '" + m->id + "' is forwarded to other engines: it takes no adapters here", "model",
                     "invalid_model");
    return *m;
  }
  if (id.empty()) throw ApiError(400, "no model is run here (all are forwarded to other engines): no adapters", "model", "invalid_model");
  throw ApiError(404, "the model '" + id + "' does not exist", "model", "model_not_found");
}

json entry_json(const ServedModel& m, const AdapterEntry& a) {
  return {{"id", m.id + ":" + a.name}, {"model", m.id},          {"name", a.name},
          {"path", a.path},            {"scale", a.scale},       {"parameters", a.parameters},
          {"loaded_at", a.loaded_at}};
}

}  // namespace

void register_adapter_routes(httplib::Server& http, RouteContext& ctx) {
  http.Get("/admin/adapters", [&ctx](const httplib::Request&, httplib::Response& res) {
    require_admin_api(ctx);
    json data = json::array();
    for (const auto& m : ctx.models)
      if (m->adapters)
        for (const AdapterEntry& a : m->adapters->list()) data.push_back(entry_json(*m, a));
    send_json(res, {{"object", "list"}, {"data", data}});
  });
  http.Post("/admin/adapters", [&ctx](const httplib::Request& req, httplib::Response& res) {
    require_admin_api(ctx);
    const json body = parse_json_body(req.body);
    ServedModel& m = served(ctx, get_string(body, "model", ""));
    const std::string name = required_string(body, "name"), path = required_string(body, "path");
    std::string file = path;
    if (body.contains("scale") && !body["scale"].is_null()) {
      if (!body["scale"].is_number()) throw invalid_field("scale", "must be a number");
      file += ":" + std::to_string(body["scale"].get<double>());
    }
    const bool replace = get_bool(body, "replace", false);
    if (!AdapterRegistry::valid_name(name))
      throw invalid_field("name", "must be 1 to 64 letters, digits, '.', '_' or '-'");
    if (!replace && m.adapters->find(name))
      throw ApiError(409, "the model '" + m.id + "' already has an adapter '" + name + "' (send \"replace\": true)",
                     "name", "adapter_exists");
    try {
      const AdapterEntry e = m.adapters->load(name, file, replace);
      send_json(res, entry_json(m, e), 201);
    } catch (const FormatError& e) {  // not an adapter, or not one of this model's shapes
      throw ApiError(400, e.what(), "path", "invalid_adapter");
    } catch (const std::invalid_argument& e) {
      throw ApiError(409, e.what(), "name", "adapter_exists");
    } catch (const std::runtime_error& e) {  // unreadable
      throw ApiError(400, e.what(), "path", "invalid_adapter");
    }
  });
  http.Delete(R"(/admin/adapters/(.+):([A-Za-z0-9._-]{1,64}))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    require_admin_api(ctx);
    ServedModel& m = served(ctx, req.matches[1]);
    const std::string name = req.matches[2];
    if (!m.adapters->unload(name))
      throw ApiError(404, "the model '" + m.id + "' has no adapter '" + name + "'", "", "not_found");
    send_json(res, {{"id", m.id + ":" + name}, {"unloaded", true}});
  });
}

}  // namespace citadel
