// GET /v1/models, POST /v1/embeddings, /tokenize, /detokenize, GET /health and the chat page.
#include <httplib.h>

#include <cstring>

#include "server/api_error.h"
#include "server/chat_page.h"
#include "server/json_fields.h"
#include "server/metrics_routes.h"
#include "server/route_context.h"
#include "server/upstream_forward.h"

namespace citadel {
namespace {

using json = nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string base64(const uint8_t* data, size_t n) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = uint32_t(data[i]) << 16 | (i + 1 < n ? uint32_t(data[i + 1]) << 8 : 0) | (i + 2 < n ? data[i + 2] : 0);
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
    out += i + 1 < n ? alphabet[v >> 6 & 63] : '=';
    out += i + 2 < n ? alphabet[v & 63] : '=';
  }
  return out;
}

void handle_models(RouteContext& ctx, httplib::Response& res) {
  json data = json::array();
  const std::optional<KeyRecord>& caller = current_request().caller;
  if (ctx.ready)
    for (const auto& m : ctx.models) {
      if (caller && !caller->may_use_model(m->id)) continue;  // a key sees the models it may use
      if (m->upstream) {  // served by other engines
        json origins = json::array();
        for (const auto& u : m->upstream->pool->all()) origins.push_back(u->origin);
        data.push_back({{"id", m->id}, {"object", "model"}, {"created", m->created}, {"owned_by", "citadel"},
                        {"meta", {{"upstream_model", m->upstream->model}, {"upstreams", origins}}}});
        continue;
      }
      const HParams& hp = m->model->hparams();
      data.push_back({{"id", m->id}, {"object", "model"}, {"created", m->created}, {"owned_by", "citadel"},
                      {"meta", {{"architecture", hp.arch}, {"n_ctx", m->engine->context()}, {"n_ctx_train", hp.n_ctx_train},
                                {"n_embd", hp.n_embd}, {"n_vocab", hp.n_vocab}, {"n_params_bytes", m->model->weight_bytes()}}}});
      if (m->adapters)
        for (const AdapterEntry& a : m->adapters->list())  // each LoRA adapter: "<model>:<adapter>"
          data.push_back({{"id", m->id + ":" + a.name}, {"object", "model"}, {"created", a.loaded_at}, {"owned_by", "citadel"},
                          {"meta", {{"base_model", m->id}, {"adapter", a.name}, {"lora_scale", a.scale},
                                    {"adapter_parameters", a.parameters}}}});
    }
  res.set_content(dump({{"object", "list"}, {"data", data}}), "application/json");
}

void handle_embeddings(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req.body);
  ServedModel& m = ctx.model_for(body);
  if (m.upstream) return forward_to_upstream(ctx, m, req, res, body);  // served by other engines
  auto it = body.find("input");
  if (it == body.end() || it->is_null()) throw ApiError(400, "'input' is required", "input", "missing_field");
  std::vector<std::vector<int32_t>> inputs;
  if (it->is_string()) {
    inputs.push_back(m.tokenizer->encode(it->get<std::string>(), true));
  } else if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) {
    inputs.push_back(it->get<std::vector<int32_t>>());
  } else if (it->is_array() && !it->empty()) {
    for (const auto& item : *it) {
      if (item.is_string()) inputs.push_back(m.tokenizer->encode(item.get<std::string>(), true));
      else if (item.is_array()) inputs.push_back(item.get<std::vector<int32_t>>());
      else throw invalid_field("input", "must be a string, an array of strings, or token arrays");
    }
  } else {
    throw invalid_field("input", "must be a string, an array of strings, or token arrays");
  }
  if (inputs.size() > 256) throw invalid_field("input", "may hold at most 256 items");
  const std::string format = get_string(body, "encoding_format", "float");
  if (format != "float" && format != "base64") throw invalid_field("encoding_format", "must be float or base64");
  const int64_t n_ctx = m.engine->context();
  json data = json::array();
  int64_t total = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& ids = inputs[i];
    if (ids.empty()) throw invalid_field("input", "must not be empty");
    if (static_cast<int64_t>(ids.size()) > n_ctx)
      throw ApiError(400, "input " + std::to_string(i) + " has " + std::to_string(ids.size()) +
                              " tokens, more than the context of " + std::to_string(n_ctx), "input", "context_length_exceeded");
    for (int32_t t : ids)
      if (t < 0 || t >= m.model->hparams().n_vocab) throw invalid_field("input", "holds a token id outside the vocabulary");
    std::vector<float> e = m.embed(ids, current_request().lora.get());
    total += static_cast<int64_t>(ids.size());
    current_request().prompt_tokens = total;  // for quotas, the audit trail and logs
    json emb = format == "base64" ? json(base64(reinterpret_cast<const uint8_t*>(e.data()), e.size() * sizeof(float)))
                                  : json(e);
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", emb}});
  }
  res.set_content(dump({{"object", "list"}, {"data", data}, {"model", m.id},
                        {"usage", {{"prompt_tokens", total}, {"total_tokens", total}}}}),
                  "application/json");
}

void handle_tokenize(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req.body);
  ServedModel& m = ctx.model_for(body);
  std::string text;
  if (auto c = get_optional_string(body, "content")) text = *c;
  else text = required_string(body, "text");
  const bool add_special = get_bool(body, "add_special", false);
  const bool parse_special = get_bool(body, "parse_special", false);
  const bool with_pieces = get_bool(body, "with_pieces", false);
  std::vector<int32_t> ids = m.tokenizer->encode(text, add_special, parse_special);
  json tokens = json::array();
  for (int32_t id : ids) {
    if (with_pieces) tokens.push_back({{"id", id}, {"piece", m.tokenizer->token_to_piece(id)}});
    else tokens.push_back(id);
  }
  res.set_content(dump({{"tokens", tokens}}), "application/json");
}

void handle_detokenize(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req.body);
  ServedModel& m = ctx.model_for(body);
  auto it = body.find("tokens");
  if (it == body.end() || !it->is_array()) throw ApiError(400, "'tokens' must be an array of token ids", "tokens");
  std::vector<int32_t> ids;
  for (const auto& v : *it) {
    if (!v.is_number_integer()) throw invalid_field("tokens", "must hold integers");
    const int64_t id = v.get<int64_t>();
    if (id < 0 || id >= m.tokenizer->n_vocab()) throw invalid_field("tokens", "holds an id outside the vocabulary");
    ids.push_back(static_cast<int32_t>(id));
  }
  res.set_content(dump({{"content", m.tokenizer->decode(ids)}}), "application/json");
}

}  // namespace

void register_utility_routes(httplib::Server& http, RouteContext& ctx) {
  http.Get("/health", [&ctx](const httplib::Request&, httplib::Response& res) {
    if (ctx.draining) {
      res.status = 503;
      res.set_content(R"({"status":"shutting_down"})", "application/json");
    } else if (!ctx.ready) {
      res.status = 503;
      res.set_content(R"({"status":"loading"})", "application/json");
    } else {
      res.set_content(R"({"status":"ok"})", "application/json");
    }
  });
  http.Get("/v1/models", [&ctx](const httplib::Request&, httplib::Response& res) { handle_models(ctx, res); });
  http.Post("/v1/embeddings", [&ctx](const httplib::Request& q, httplib::Response& r) { handle_embeddings(ctx, q, r); });
  http.Post("/tokenize", [&ctx](const httplib::Request& q, httplib::Response& r) { handle_tokenize(ctx, q, r); });
  http.Post("/detokenize", [&ctx](const httplib::Request& q, httplib::Response& r) { handle_detokenize(ctx, q, r); });
  http.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(chat_page_html(), "text/html; charset=utf-8"); });
}

}  // namespace citadel
