#include "server/generation.h"

#include <httplib.h>

#include <ctime>
#include <random>

#include "engine/json_constraint.h"
#include "gateway/cached_answer.h"
#include "server/access_control.h"
#include "server/json_fields.h"
#include "server/metrics_routes.h"

namespace citadel {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

std::string dump_json(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string random_id(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return std::string(prefix) + buf;
}

int64_t now_unix() { return static_cast<int64_t>(std::time(nullptr)); }

void read_sampling(const json& body, const SamplingFields& f, GenerationRequest& r, const RouteContext& ctx) {
  if (f.max_tokens) r.max_tokens = static_cast<int32_t>(get_int(body, f.max_tokens, f.max_tokens_default, 1, 1 << 24));
  SamplingParams& s = r.sampling;
  if (f.temperature) s.temperature = static_cast<float>(get_number(body, f.temperature, 1.0, 0.0, f.temperature_max));
  if (f.top_p) s.top_p = static_cast<float>(get_number(body, f.top_p, 1.0, 0.0, 1.0));
  if (f.top_k) s.top_k = static_cast<int32_t>(get_int(body, f.top_k, 0, 0, 1 << 20));
  if (f.min_p) s.min_p = static_cast<float>(get_number(body, f.min_p, 0.0, 0.0, 1.0));
  if (f.frequency_penalty) s.frequency_penalty = static_cast<float>(get_number(body, f.frequency_penalty, 0.0, -2.0, 2.0));
  if (f.presence_penalty) s.presence_penalty = static_cast<float>(get_number(body, f.presence_penalty, 0.0, -2.0, 2.0));
  if (f.repeat_penalty) s.repeat_penalty = static_cast<float>(get_number(body, f.repeat_penalty, 1.0, 0.01, 10.0));
  s.repeat_last_n = 64;
  if (f.repeat_last_n) s.repeat_last_n = static_cast<int32_t>(get_int(body, f.repeat_last_n, 64, 0, 1 << 20));
  static thread_local std::mt19937_64 seeder{std::random_device{}()};
  s.seed = static_cast<uint64_t>(seeder() >> 1);
  if (f.seed) s.seed = static_cast<uint64_t>(get_int(body, f.seed, static_cast<int64_t>(s.seed), INT64_MIN, INT64_MAX));
  if (f.seed) r.seed_given = body.contains(f.seed) && !body[f.seed].is_null();
  if (f.stop) {
    auto it = body.find(f.stop);
    if (f.stop_must_be_list && it != body.end() && !it->is_null() && !it->is_array())
      throw invalid_field(f.stop, "must be an array of strings");
    r.stop = get_string_or_list(body, f.stop, 16);
    for (const auto& st : r.stop)
      if (st.empty()) throw invalid_field(f.stop, "must not contain empty strings");
  }
  r.deadline = ctx.deadline();
}

std::shared_ptr<const JsonSchema> compile_schema(const json& schema, const std::string& field) {
  if (!schema.is_object() && !schema.is_boolean()) throw invalid_field(field, "must be a JSON schema object");
  try {
    return JsonSchema::compile(schema);
  } catch (const std::invalid_argument& e) {
    throw invalid_field(field, e.what());
  }
}

std::string chat_role(const json& role, const std::string& where) {
  if (!role.is_string()) throw invalid_field(where, "must be a string");
  const std::string r = role.get<std::string>();
  if (r == "developer") return "system";
  if (r == "system" || r == "user" || r == "assistant" || r == "tool" || r == "function") return r;
  throw invalid_field(where, "must be one of system, developer, user, assistant, tool (got '" + r.substr(0, 64) + "')");
}

ojson assistant_turn(const std::string& text, const std::vector<ToolCall>& calls) {
  ojson msg = {{"role", "assistant"}, {"content", text}};
  if (!calls.empty()) {
    ojson list = ojson::array();
    for (const auto& c : calls)
      list.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    msg["tool_calls"] = list;
  }
  return msg;
}

ojson function_tool(const std::string& name, const std::string& description, const json& parameters) {
  ojson fn = {{"name", name}};
  if (!description.empty()) fn["description"] = description;
  fn["parameters"] = parameters.is_null() ? ojson{{"type", "object"}, {"properties", ojson::object()}} : ojson::parse(parameters.dump());
  return {{"type", "function"}, {"function", fn}};
}

std::shared_ptr<const JsonSchema> forced_tool_call_schema(const ojson& tools, const std::string& only) {
  json names = json::array();
  json arguments = {{"type", "object"}};
  for (const auto& t : tools) {
    const std::string name = t["function"]["name"].get<std::string>();
    if (!only.empty() && name != only) continue;
    names.push_back(name);
    arguments = json::parse(t["function"]["parameters"].dump());
  }
  if (names.size() > 1) arguments = {{"type", "object"}};  // one schema per name is not expressible here
  if (names.empty()) throw ApiError(400, "the tool '" + only + "' named by tool_choice is not among the tools", "tool_choice");
  auto schema_for = [&](const json& args) {
    return json{{"type", "object"},
                {"properties", {{"name", {{"enum", names}}}, {"arguments", args}}},
                {"required", {"name", "arguments"}},
                {"additionalProperties", false}};
  };
  try {
    return JsonSchema::compile(schema_for(arguments));
  } catch (const std::invalid_argument&) {  // a schema we cannot enforce: any arguments object
    return JsonSchema::compile(schema_for({{"type", "object"}}));
  }
}

std::vector<int32_t> render_chat_prompt(const ServedModel& m, const ojson& messages, const ojson& tools,
                                        const ojson& extra, const std::string& assistant_prefix) {
  return m.tokenizer->encode(render_chat_text(m, messages, tools, extra, assistant_prefix), true, true);
}

std::string render_chat_text(const ServedModel& m, const ojson& messages, const ojson& tools, const ojson& extra,
                             const std::string& assistant_prefix) {
  std::string prompt;
  try {
    prompt = m.chat_template->render(messages, true, tools, extra);
  } catch (const ChatTemplateRaised& e) {
    throw ApiError(400, std::string("the chat template refused the conversation: ") + e.what(), "messages");
  } catch (const ChatTemplateError& e) {
    throw ApiError(400, std::string("the chat template failed: ") + e.what(), "messages");
  }
  return model_input_text(prompt + assistant_prefix);
}

std::vector<std::shared_ptr<RequestStream>> submit_all(ServedModel& m, const CompletionSpec& spec,
                                                        const char* prompt_field) {
  std::vector<std::shared_ptr<RequestStream>> streams;
  try {
    for (int i = 0; i < spec.n; ++i) {
      GenerationRequest r = spec.base;
      r.sampling.seed += static_cast<uint64_t>(i);
      std::string constraint;
      if (spec.json_mode) {
        const auto schema = spec.schema ? spec.schema : JsonSchema::any_object();
        r.constraint = std::make_shared<JsonConstraint>(m.pieces, schema);
        constraint = schema_fingerprint(*schema);
      }
      streams.push_back(submit_through_gateway(m, std::move(r), constraint));  // the response cache, PII filters
    }
  } catch (const QueueFull& e) {
    for (auto& s : streams) s->cancel();
    throw ApiError(503, e.what(), "", "queue_full");
  } catch (const std::invalid_argument& e) {
    for (auto& s : streams) s->cancel();
    const std::string msg = e.what();
    throw ApiError(400, msg, prompt_field,
                   msg.find("context") != std::string::npos ? "context_length_exceeded" : "invalid_value");
  }
  return streams;
}

namespace {

// Adds one event of a choice (false when the choice has finished: its result is taken then).
bool take(RequestStream& s, Choice& c, std::optional<bool> got, TokenEvent& ev) {
  if (*got) {
    c.text += ev.text;
    if (ev.token >= 0) c.tokens.push_back(std::move(ev));
    return true;
  }
  c.result = s.result();
  observe_generation(c.result);
  note_output_text(c.text);
  return false;
}

}  // namespace

// The handler waits for each choice's first token, so what fails before it (a request the KV
// cache cannot hold) keeps its status code; the rest is collected inside a content provider that
// checks the connection while it waits, so a client that goes away cancels its request (slot and
// KV blocks freed at once) instead of generating on to max_tokens.
void reply_when_done(httplib::Response& res, RouteContext& ctx, std::vector<std::shared_ptr<RequestStream>> streams,
                     std::function<json(const std::vector<Choice>&)> build, ApiDialect dialect) {
  auto choices = std::make_shared<std::vector<Choice>>(streams.size());
  auto open = std::make_shared<std::vector<bool>>(streams.size(), true);
  size_t n_open = streams.size();
  for (size_t i = 0; i < streams.size(); ++i) {
    TokenEvent ev;
    std::optional<bool> got = streams[i]->next(ev);
    if (!take(*streams[i], (*choices)[i], got, ev)) (*open)[i] = false, --n_open;
  }
  if (n_open == 0) {
    res.set_content(dump_json(build(*choices)), "application/json");
    return;
  }
  for (size_t i = 0; i < streams.size(); ++i)
    if (!(*open)[i] && (*choices)[i].result.reason == FinishReason::Error) {
      for (auto& s : streams) s->cancel();
      res.set_content(dump_json(build(*choices)), "application/json");  // build throws the error
      return;
    }
  ++ctx.in_flight;
  res.set_chunked_content_provider(
      "application/json",
      [streams, choices, open, build, dialect](size_t, httplib::DataSink& sink) {
        using Clock = std::chrono::steady_clock;
        auto last_check = Clock::now();
        for (size_t i = 0; i < streams.size(); ++i) {
          while ((*open)[i]) {
            TokenEvent ev;
            const std::optional<bool> got = streams[i]->next_for(ev, std::chrono::milliseconds(100));
            if (Clock::now() - last_check > std::chrono::milliseconds(100)) {  // tokens or not
              if (!sink.is_writable()) return false;  // the client went away: the release cancels
              last_check = Clock::now();
            }
            if (got && !take(*streams[i], (*choices)[i], got, ev)) (*open)[i] = false;
          }
        }
        std::string body;
        try {
          body = dump_json(build(*choices));
        } catch (const ApiError& e) {  // the status line has gone: the error travels in the body
          body = dump_json(error_body(dialect, e));
        } catch (const std::exception& e) {
          body = dump_json(error_body(dialect, ApiError(500, e.what())));
        }
        sink.write(body.data(), body.size());
        sink.done();
        return true;
      },
      [&ctx, streams](bool) {
        for (auto& s : streams) s->cancel();
        --ctx.in_flight;
      });
}

void stream_answer(httplib::Response& res, RouteContext& ctx, std::shared_ptr<RequestStream> stream,
                   const char* content_type, StreamWriter w) {
  ++ctx.in_flight;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      content_type,
      [stream, w](size_t, httplib::DataSink& sink) {
        auto send = [&](const std::string& s) { return s.empty() || sink.write(s.data(), s.size()); };
        if (!send(w.open())) return stream->cancel(), false;
        std::string text;  // for the audit trail
        for (;;) {
          TokenEvent ev;
          auto got = stream->next_for(ev, std::chrono::milliseconds(1000));
          if (!got) {
            if (!sink.is_writable()) return stream->cancel(), false;  // the client went away
            continue;
          }
          if (!*got) break;
          text += ev.text;
          if (!ev.text.empty() && !send(w.token(ev))) return stream->cancel(), false;
        }
        const GenerationResult& r = stream->result();
        observe_generation(r);
        note_output_text(text);
        // The status line has gone: a failed generation ends the stream with an error event.
        send(r.reason == FinishReason::Error ? w.error(generation_error(r)) : w.finish(r));
        sink.done();
        return true;
      },
      [&ctx, stream](bool) {
        stream->cancel();
        --ctx.in_flight;
      });
}

ApiError generation_error(const GenerationResult& r) {
  return ApiError(500, "generation failed: " + r.error, "", r.error_code);
}

std::string finish_reason(const GenerationResult& r) {
  if (r.reason == FinishReason::Error) throw generation_error(r);
  return r.reason == FinishReason::Stop ? "stop" : "length";
}

json usage_json(int32_t prompt, int32_t completion, int32_t cached) {
  return {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion},
          {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

json usage_of(const std::vector<Choice>& choices) {
  int32_t completion = 0;
  for (const auto& c : choices) completion += c.result.completion_tokens;
  const GenerationResult& first = choices.front().result;
  return usage_json(first.prompt_tokens, completion, first.cached_prompt_tokens);
}

}  // namespace citadel
