// The Ollama API (/api/...), translated onto the one generation path (server/generation.h):
// chat and generate (NDJSON streamed by default, as Ollama does), embed, and the model listings
// (tags, show, ps, version). `options` map onto our sampling; `format` ("json" or a schema) onto
// constrained decoding; the timing fields come from the engine's measurements of the request.
// Models are copied in by hand here, so pull / push / create / copy / delete answer 501.
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <map>

#include "core/gguf.h"
#include "core/tensor_type.h"
#include "server/access_control.h"
#include "server/generation.h"
#include "server/json_fields.h"
#include "server/metrics_routes.h"

namespace citadel {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

// The Ollama release whose API shapes these routes follow (clients check it).
constexpr const char* kOllamaApiVersion = "0.12.0";

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(ns % 1000000000));
  return buf;
}
std::string now_rfc3339() { return rfc3339(std::chrono::system_clock::now()); }

// The model named by "model" (or "name"); Ollama's implicit ":latest" tag is accepted.
ServedModel& ollama_model(RouteContext& ctx, const json& body) {
  json pick = json::object();
  if (body.contains("model")) pick["model"] = body["model"];
  else if (body.contains("name")) pick["model"] = body["name"];
  if (ctx.ready && pick.contains("model") && pick["model"].is_string()) {
    std::string name = pick["model"];
    bool known = false;
    for (const auto& m : ctx.models) known = known || m->id == name;
    const std::string tag = ":latest";
    if (!known && name.size() > tag.size() && name.compare(name.size() - tag.size(), tag.size(), tag) == 0)
      pick["model"] = name.substr(0, name.size() - tag.size());
  }
  return ctx.model_for(pick);
}

// Runs `read` on the options object; errors name "options.<field>".
template <typename F>
void in_options(F read) {
  try {
    read();
  } catch (const ApiError& e) {
    std::string message = e.what();
    if (!e.param().empty() && message.rfind("'" + e.param() + "'", 0) == 0)
      message = "'options." + e.param() + "'" + message.substr(e.param().size() + 2);
    throw ApiError(e.status(), message, e.param().empty() ? "" : "options." + e.param(), e.code());
  }
}

// options, format and the context limit, onto the spec.
void read_options(const json& body, const ServedModel& m, CompletionSpec& spec, const RouteContext& ctx) {
  const int64_t n_ctx = m.engine->context();
  json options = json::object();
  if (auto o = body.find("options"); o != body.end() && !o->is_null()) {
    if (!o->is_object()) throw invalid_field("options", "must be an object");
    options = *o;
  }
  int64_t window = n_ctx;
  in_options([&] {
    SamplingFields names;
    names.max_tokens = nullptr;  // num_predict below: -1 and -2 mean "until the context is full"
    names.repeat_last_n = "repeat_last_n";
    read_sampling(options, names, spec.base, ctx);
    const int64_t predict = get_int(options, "num_predict", -1, -2, 1 << 24);
    window = std::min(n_ctx, get_int(options, "num_ctx", n_ctx, 1, 1 << 24));  // within the configured context
    spec.base.max_tokens = static_cast<int32_t>(predict == 0 ? 0 : predict < 0 ? window : std::min(predict, window));
  });
  if (spec.base.max_tokens == 0) throw invalid_field("options.num_predict", "must not be 0");
  if (auto f = body.find("format"); f != body.end() && !f->is_null() && !(f->is_string() && f->get<std::string>().empty())) {
    if (f->is_string() && f->get<std::string>() == "json") spec.json_mode = true;
    else if (f->is_object()) spec.json_mode = true, spec.schema = compile_schema(*f, "format");
    else throw invalid_field("format", "must be \"json\" or a JSON schema object");
  }
  spec.stream = get_bool(body, "stream", true);
  // num_ctx below the configured context: the prompt and the answer must fit it.
  if (window < n_ctx) {
    const int64_t n_prompt = static_cast<int64_t>(spec.base.prompt.size());
    if (n_prompt >= window)
      throw ApiError(400, "the prompt has " + std::to_string(n_prompt) + " tokens, more than num_ctx " + std::to_string(window) + " allows",
                     "options.num_ctx", "context_length_exceeded");
    spec.base.max_tokens = static_cast<int32_t>(std::min<int64_t>(spec.base.max_tokens, window - n_prompt));
  }
}

void refuse_images(const json& obj, const std::string& where) {
  if (auto im = obj.find("images"); im != obj.end() && !im->is_null()) {
    if (!im->is_array()) throw invalid_field(where, "must be an array");
    if (!im->empty()) throw invalid_field(where, "images are not supported yet (the served models read text only)");
  }
}

int64_t ns(double seconds) { return static_cast<int64_t>(std::llround(seconds * 1e9)); }

// Ollama's closing fields, from the engine's timings of the request.
void add_timings(json& j, const GenerationResult& r, Clock::time_point started) {
  const char* reason = r.reason == FinishReason::Length ? "length" : "stop";
  j["done"] = true;
  j["done_reason"] = reason;
  j["total_duration"] = ns(std::chrono::duration<double>(Clock::now() - started).count());
  j["load_duration"] = ns(r.queue_seconds);  // waiting for a slot: the model itself stays loaded
  j["prompt_eval_count"] = r.prompt_tokens;
  j["prompt_eval_duration"] = ns(std::max(0.0, r.first_token_seconds - r.queue_seconds));
  j["eval_count"] = r.completion_tokens;
  j["eval_duration"] = ns(std::max(0.0, r.total_seconds - r.first_token_seconds));
}

// A request with nothing to generate loads the model in Ollama; here it is loaded already.
void reply_loaded(httplib::Response& res, const ServedModel& m, bool chat) {
  json j = {{"model", m.id}, {"created_at", now_rfc3339()}, {"done", true}, {"done_reason", "load"}};
  if (chat) j["message"] = {{"role", "assistant"}, {"content", ""}};
  else j["response"] = "";
  res.set_content(dump_json(j), "application/json");
}

json ollama_tool_calls(const std::vector<ToolCall>& calls) {
  json list = json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    json args = json::parse(calls[i].arguments, nullptr, false);
    if (!args.is_object()) args = json::object();
    list.push_back({{"function", {{"index", i}, {"name", calls[i].name}, {"arguments", args}}}});
  }
  return list;
}

ojson chat_messages(const json& body) {
  ojson out = ojson::array();
  const json& list = body["messages"];
  for (size_t i = 0; i < list.size(); ++i) {
    const json& m = list[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw invalid_field(where, "must be an object");
    if (!m.contains("role")) throw ApiError(400, "'" + where + ".role' is required", where + ".role", "missing_field");
    const std::string role = chat_role(m["role"], where + ".role");
    const std::string content = get_string(m, "content", "");
    refuse_images(m, where + ".images");
    note_input_text(content);
    std::vector<ToolCall> calls;
    if (auto tc = m.find("tool_calls"); tc != m.end() && !tc->is_null()) {
      if (!tc->is_array() || role != "assistant") throw invalid_field(where + ".tool_calls", "must be an array on an assistant message");
      for (size_t k = 0; k < tc->size(); ++k) {
        const json& call = (*tc)[k];
        const std::string at = where + ".tool_calls[" + std::to_string(k) + "].function";
        if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) throw invalid_field(at, "must be an object");
        const json& fn = call["function"];
        auto args = fn.find("arguments");
        if (args != fn.end() && !args->is_null() && !args->is_object()) throw invalid_field(at + ".arguments", "must be an object");
        calls.push_back({"call_" + std::to_string(i) + "_" + std::to_string(k), required_string(fn, "name"),
                         args == fn.end() || args->is_null() ? "{}" : args->dump()});
      }
    }
    if (role == "assistant") {
      out.push_back(assistant_turn(content, calls));
    } else {
      ojson msg = {{"role", role}, {"content", content}};
      if (auto name = get_optional_string(m, "tool_name"); name && role == "tool") msg["name"] = *name;
      out.push_back(std::move(msg));
    }
  }
  return out;
}

ojson chat_tools(const json& body) {
  auto t = body.find("tools");
  if (t == body.end() || t->is_null()) return nullptr;
  if (!t->is_array()) throw invalid_field("tools", "must be an array");
  if (t->size() > 128) throw invalid_field("tools", "may hold at most 128 tools");
  if (t->empty()) return nullptr;
  ojson tools = ojson::array();
  for (size_t i = 0; i < t->size(); ++i) {
    const json& tool = (*t)[i];
    const std::string at = "tools[" + std::to_string(i) + "]";
    if (!tool.is_object() || !tool.contains("function") || !tool["function"].is_object())
      throw invalid_field(at + ".function", "must be an object");
    const json& fn = tool["function"];
    auto params = fn.find("parameters");
    if (params != fn.end() && !params->is_null() && !params->is_object()) throw invalid_field(at + ".function.parameters", "must be an object");
    tools.push_back(function_tool(required_string(fn, "name"), get_string(fn, "description", ""),
                                  params == fn.end() ? json(nullptr) : *params));
  }
  return tools;
}

void handle_chat(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto started = Clock::now();
  const json body = parse_json_body(req.body);
  ServedModel& m = ollama_model(ctx, body);
  auto it = body.find("messages");
  if (it != body.end() && !it->is_null() && !it->is_array()) throw invalid_field("messages", "must be an array");
  if (it == body.end() || it->is_null() || it->empty()) return reply_loaded(res, m, true);
  CompletionSpec spec;
  const ojson tools = chat_tools(body);
  spec.has_tools = !tools.is_null();
  spec.base.prompt = render_chat_prompt(m, chat_messages(body), tools);
  read_options(body, m, spec, ctx);
  auto streams = submit_all(m, spec, "messages");
  const std::string model = m.id;
  const bool tools_on = spec.has_tools;
  auto message_of = [tools_on](const std::string& text) {
    json msg = {{"role", "assistant"}, {"content", text}};
    if (tools_on) {
      ParsedToolCalls parsed = parse_tool_calls(text);
      if (!parsed.calls.empty()) msg = {{"role", "assistant"}, {"content", parsed.content}, {"tool_calls", ollama_tool_calls(parsed.calls)}};
    }
    return msg;
  };
  if (!spec.stream) {
    reply_when_done(
        res, ctx, streams,
        [=](const std::vector<Choice>& done) -> json {
          const Choice& c = done[0];
          if (c.result.reason == FinishReason::Error) throw generation_error(c.result);
          json j = {{"model", model}, {"created_at", now_rfc3339()}, {"message", message_of(c.text)}};
          add_timings(j, c.result, started);
          return j;
        },
        ApiDialect::Ollama);
    return;
  }
  // NDJSON: one object a line. With tools the text is held until the end, to tell a call from prose.
  auto held = std::make_shared<std::string>();
  auto line = [](const json& j) { return dump_json(j) + "\n"; };
  StreamWriter w;
  w.open = [] { return std::string(); };
  w.token = [=](const TokenEvent& ev) -> std::string {
    if (tools_on) return *held += ev.text, "";
    return line({{"model", model}, {"created_at", now_rfc3339()}, {"message", {{"role", "assistant"}, {"content", ev.text}}},
                 {"done", false}});
  };
  w.finish = [=](const GenerationResult& r) {
    std::string out;
    if (tools_on && !held->empty())
      out += line({{"model", model}, {"created_at", now_rfc3339()}, {"message", message_of(*held)}, {"done", false}});
    json last = {{"model", model}, {"created_at", now_rfc3339()}, {"message", {{"role", "assistant"}, {"content", ""}}}};
    add_timings(last, r, started);
    return out + line(last);
  };
  w.error = [=](const ApiError& e) { return line(error_body(ApiDialect::Ollama, e)); };
  stream_answer(res, ctx, streams[0], "application/x-ndjson", w);
}

void handle_generate(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto started = Clock::now();
  const json body = parse_json_body(req.body);
  ServedModel& m = ollama_model(ctx, body);
  const std::string prompt = get_string(body, "prompt", "");
  const std::string system = get_string(body, "system", "");
  if (!get_string(body, "suffix", "").empty()) throw invalid_field("suffix", "is not supported (no fill-in-the-middle)");
  if (!get_string(body, "template", "").empty()) throw invalid_field("template", "is not supported: the model's own template is used");
  if (auto c = body.find("context"); c != body.end() && !c->is_null() && !(c->is_array() && c->empty()))
    throw invalid_field("context", "is not supported: send the conversation to /api/chat");
  refuse_images(body, "images");
  if (prompt.empty()) return reply_loaded(res, m, false);
  note_input_text(prompt);
  CompletionSpec spec;
  if (get_bool(body, "raw", false)) {
    spec.base.prompt = m.tokenizer->encode(model_input_text(prompt), true);
  } else {  // Ollama renders the prompt as a user turn with the model's template
    ojson messages = ojson::array();
    if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
    messages.push_back({{"role", "user"}, {"content", prompt}});
    spec.base.prompt = render_chat_prompt(m, messages, nullptr);
  }
  read_options(body, m, spec, ctx);
  auto streams = submit_all(m, spec, "prompt");
  const std::string model = m.id;
  const std::vector<int32_t> prompt_ids = spec.base.prompt;
  if (!spec.stream) {
    reply_when_done(
        res, ctx, streams,
        [=](const std::vector<Choice>& done) -> json {
          const Choice& c = done[0];
          if (c.result.reason == FinishReason::Error) throw generation_error(c.result);
          json context = prompt_ids;
          for (const auto& t : c.tokens) context.push_back(t.token);
          json j = {{"model", model}, {"created_at", now_rfc3339()}, {"response", c.text}};
          add_timings(j, c.result, started);
          j["context"] = context;
          return j;
        },
        ApiDialect::Ollama);
    return;
  }
  auto context = std::make_shared<std::vector<int32_t>>(prompt_ids);
  auto line = [](const json& j) { return dump_json(j) + "\n"; };
  StreamWriter w;
  w.open = [] { return std::string(); };
  w.token = [=](const TokenEvent& ev) {
    if (ev.token >= 0) context->push_back(ev.token);
    return line({{"model", model}, {"created_at", now_rfc3339()}, {"response", ev.text}, {"done", false}});
  };
  w.finish = [=](const GenerationResult& r) {
    json last = {{"model", model}, {"created_at", now_rfc3339()}, {"response", ""}};
    add_timings(last, r, started);
    last["context"] = *context;
    return line(last);
  };
  w.error = [=](const ApiError& e) { return line(error_body(ApiDialect::Ollama, e)); };
  stream_answer(res, ctx, streams[0], "application/x-ndjson", w);
}

// Token ids of one input, cut to the context when `truncate` (Ollama's default), else a 400.
std::vector<int32_t> embed_ids(const ServedModel& m, const std::string& text, bool truncate, size_t index) {
  std::vector<int32_t> ids = m.tokenizer->encode(text, true);
  const size_t n_ctx = static_cast<size_t>(m.engine->context());
  if (ids.size() > n_ctx) {
    if (!truncate)
      throw ApiError(400, "input " + std::to_string(index) + " has " + std::to_string(ids.size()) +
                              " tokens, more than the context of " + std::to_string(n_ctx), "input", "context_length_exceeded");
    ids.resize(n_ctx);
  }
  return ids;
}

void handle_embed(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto started = Clock::now();
  const json body = parse_json_body(req.body);
  ServedModel& m = ollama_model(ctx, body);
  const bool truncate = get_bool(body, "truncate", true);
  if (body.contains("dimensions") && !body["dimensions"].is_null() &&
      get_int(body, "dimensions", 0, 1, 1 << 20) != m.model->hparams().n_embd)
    throw invalid_field("dimensions", "must be the model's embedding size, " + std::to_string(m.model->hparams().n_embd));
  std::vector<std::string> inputs;
  if (body.contains("input") && body["input"].is_array() && body["input"].empty()) inputs = {};
  else inputs = get_string_or_list(body, "input", 256);
  json embeddings = json::array();
  int64_t tokens = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<int32_t> ids = embed_ids(m, inputs[i], truncate, i);
    if (ids.empty()) throw invalid_field("input", "must not hold empty strings");
    tokens += static_cast<int64_t>(ids.size());
    embeddings.push_back(m.embed(ids));
  }
  res.set_content(dump_json({{"model", m.id}, {"embeddings", embeddings},
                             {"total_duration", ns(std::chrono::duration<double>(Clock::now() - started).count())},
                             {"load_duration", 0}, {"prompt_eval_count", tokens}}),
                  "application/json");
}

// The older single-input form: {"model", "prompt"} -> {"embedding": [...]}.
void handle_embeddings(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req.body);
  ServedModel& m = ollama_model(ctx, body);
  const std::string prompt = required_string(body, "prompt");
  json embedding = json::array();
  if (!prompt.empty()) embedding = m.embed(embed_ids(m, prompt, true, 0));
  res.set_content(dump_json({{"embedding", embedding}}), "application/json");
}

// Size-of-model text as Ollama prints it ("260K", "1.2B").
std::string parameter_size(int64_t n) {
  char buf[32];
  if (n >= 1000000000) std::snprintf(buf, sizeof buf, "%.1fB", n / 1e9);
  else if (n >= 1000000) std::snprintf(buf, sizeof buf, "%.1fM", n / 1e6);
  else std::snprintf(buf, sizeof buf, "%.0fK", n / 1e3);
  return buf;
}

struct ModelFacts {
  int64_t parameters = 0;
  std::string quantization;  // the tensor type holding most bytes
};

ModelFacts facts_of(const ServedModel& m) {
  ModelFacts f;
  std::map<std::string, size_t> bytes;
  for (const auto& t : m.model->gguf().tensors()) {
    f.parameters += t.n_elements();
    bytes[type_name(t.type)] += t.nbytes;
  }
  size_t most = 0;
  for (const auto& [type, b] : bytes)
    if (b > most) most = b, f.quantization = type;
  return f;
}

json details_of(const ServedModel& m) {
  const ModelFacts f = facts_of(m);
  const std::string arch = m.model->hparams().arch;
  return {{"parent_model", ""}, {"format", std::filesystem::is_directory(m.path) ? "safetensors" : "gguf"},
          {"family", arch}, {"families", {arch}}, {"parameter_size", f.parameters ? parameter_size(f.parameters) : ""},
          {"quantization_level", f.quantization}};
}

std::string modified_at(const ServedModel& m) {
  std::error_code ec;
  const auto t = std::filesystem::last_write_time(m.path, ec);
  if (ec) return rfc3339(std::chrono::system_clock::from_time_t(m.created));
  return rfc3339(std::chrono::time_point_cast<std::chrono::system_clock::duration>(std::chrono::file_clock::to_sys(t)));
}

json listing_of(const ServedModel& m) {
  return {{"name", m.id}, {"model", m.id}, {"modified_at", modified_at(m)}, {"size", m.model->weight_bytes()},
          {"digest", ""}, {"details", details_of(m)}};
}

void handle_tags(RouteContext& ctx, httplib::Response& res) {
  json models = json::array();
  if (ctx.ready)
    for (const auto& m : ctx.models)
      if (!m->upstream) models.push_back(listing_of(*m));  // Ollama's API speaks of local models only
  res.set_content(dump_json({{"models", models}}), "application/json");
}

void handle_ps(RouteContext& ctx, httplib::Response& res) {
  json models = json::array();
  if (ctx.ready)
    for (const auto& m : ctx.models) {
      if (m->upstream) continue;
      json entry = listing_of(*m);
      entry.erase("modified_at");
      entry["expires_at"] = "2318-01-01T00:00:00Z";  // never unloaded (Ollama's keep_alive -1)
      entry["size_vram"] = 0;                         // CPU inference
      entry["context_length"] = m->engine->context();
      models.push_back(entry);
    }
  res.set_content(dump_json({{"models", models}}), "application/json");
}

void handle_show(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req.body);
  if (!body.contains("model") && !body.contains("name")) throw ApiError(400, "'model' is required", "model", "missing_field");
  ServedModel& m = ollama_model(ctx, body);
  const HParams& hp = m.model->hparams();
  const ModelFacts f = facts_of(m);
  const std::string a = hp.arch;
  json info = {{"general.architecture", a}, {"general.parameter_count", f.parameters},
               {a + ".context_length", hp.n_ctx_train}, {a + ".embedding_length", hp.n_embd},
               {a + ".block_count", hp.n_layer}, {a + ".attention.head_count", hp.n_head},
               {a + ".attention.head_count_kv", hp.n_head_kv}, {a + ".feed_forward_length", hp.n_ff},
               {a + ".vocab_size", hp.n_vocab}};
  const std::string& tmpl = m.chat_template->source();
  json caps = {"completion", "embedding"};
  if (tmpl.find("tools") != std::string::npos) caps.push_back("tools");
  res.set_content(dump_json({{"license", ""}, {"modelfile", "# served by Citadel\nFROM " + m.path + "\n"},
                             {"parameters", ""}, {"template", tmpl}, {"details", details_of(m)},
                             {"model_info", info}, {"capabilities", caps}, {"modified_at", modified_at(m)}}),
                  "application/json");
}

void refuse_model_management(const httplib::Request& req, httplib::Response&) {
  throw ApiError(501, req.path + " is not available: Citadel does not download, create, copy or delete models; "
                 "they are copied in by hand and named in the server's configuration", "", "not_supported");
}

}  // namespace

void register_ollama_routes(httplib::Server& http, RouteContext& ctx) {
  http.Post("/api/chat", counted(ctx, handle_chat));
  http.Post("/api/generate", counted(ctx, handle_generate));
  http.Post("/api/embed", counted(ctx, handle_embed));
  http.Post("/api/embeddings", counted(ctx, handle_embeddings));
  http.Post("/api/show", [&ctx](const httplib::Request& q, httplib::Response& r) { handle_show(ctx, q, r); });
  http.Get("/api/tags", [&ctx](const httplib::Request&, httplib::Response& r) { handle_tags(ctx, r); });
  http.Get("/api/ps", [&ctx](const httplib::Request&, httplib::Response& r) { handle_ps(ctx, r); });
  http.Get("/api/version", [](const httplib::Request&, httplib::Response& r) {
    r.set_content(dump_json({{"version", kOllamaApiVersion}}), "application/json");
  });
  for (const char* path : {"/api/pull", "/api/push", "/api/create", "/api/copy"}) http.Post(path, refuse_model_management);
  http.Delete("/api/delete", refuse_model_management);
  http.Post(R"(/api/blobs/([^/]+))", refuse_model_management);
}

}  // namespace citadel
