// What every generating route shares, whatever API it speaks (OpenAI chat/completions, Anthropic
// Messages, OpenAI Responses, Ollama): reading sampling fields, rendering a conversation with the
// model's template, constraining the output (JSON mode, a schema, a forced tool call), submitting
// to the engine, collecting a whole answer or pumping a stream. Each API's file only translates
// its wire shapes onto these: there is one inference path. Internal to server/.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/json_schema.h"
#include "engine/request.h"
#include "server/api_error.h"
#include "server/route_context.h"
#include "server/tool_calls.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace citadel {

class RequestStream;

// JSON text with invalid UTF-8 replaced (a model may emit broken bytes).
std::string dump_json(const nlohmann::json& j);
std::string random_id(const char* prefix);  // prefix + 16 hex digits
int64_t now_unix();

// Where an API keeps each sampling field (nullptr: it has none) and the ranges it allows.
struct SamplingFields {
  const char* max_tokens = "max_tokens";
  int64_t max_tokens_default = 512;
  const char* temperature = "temperature";
  double temperature_max = 2.0;
  const char* top_p = "top_p";
  const char* top_k = "top_k";
  const char* min_p = "min_p";
  const char* frequency_penalty = "frequency_penalty";
  const char* presence_penalty = "presence_penalty";
  const char* repeat_penalty = "repeat_penalty";
  const char* repeat_last_n = nullptr;
  const char* seed = "seed";
  const char* stop = "stop";
  bool stop_must_be_list = false;  // Anthropic's stop_sequences is always an array
};
// Fills r's max_tokens, sampling, stop and deadline from `obj`; 400 naming the field when wrong.
void read_sampling(const nlohmann::json& obj, const SamplingFields& names, GenerationRequest& r, const RouteContext& ctx);

// What a request asks for, before it becomes n engine requests.
struct CompletionSpec {
  GenerationRequest base;
  int n = 1;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;
  bool json_mode = false;
  std::shared_ptr<const JsonSchema> schema;  // json_mode: the compiled schema (null: any object)
  bool has_tools = false;
};

// A JSON schema from a request, compiled for constrained decoding; 400 naming `field` if unsupported.
std::shared_ptr<const JsonSchema> compile_schema(const nlohmann::json& schema, const std::string& field);

// Chat roles every API maps onto; "developer" is the template's "system". 400 for anything else.
std::string chat_role(const nlohmann::json& role, const std::string& where);

// An assistant turn as the templates expect it (OpenAI shape; arguments are JSON text).
nlohmann::ordered_json assistant_turn(const std::string& text, const std::vector<ToolCall>& calls);
// A function tool as the templates expect it: {"type": "function", "function": {name, description, parameters}}.
nlohmann::ordered_json function_tool(const std::string& name, const std::string& description,
                                     const nlohmann::json& parameters);
// Forces one tool call: the answer is constrained to {"name": <one of tools>, "arguments": {...}}
// (the arguments follow the tool's schema when exactly one tool is allowed and its schema is
// supported, else any object), which parse_tool_calls() reads back. `tools` in function_tool() shape.
std::shared_ptr<const JsonSchema> forced_tool_call_schema(const nlohmann::ordered_json& tools, const std::string& only);

// The conversation rendered with the model's template, then tokenized; 400 when the template
// refuses it. `assistant_prefix`: text the answer continues (Anthropic's prefill).
std::vector<int32_t> render_chat_prompt(const ServedModel& m, const nlohmann::ordered_json& messages,
                                        const nlohmann::ordered_json& tools,
                                        const nlohmann::ordered_json& extra = nlohmann::ordered_json::object(),
                                        const std::string& assistant_prefix = "");
// The same conversation as text (before tokenizing: images go where it says "<image>").
std::string render_chat_text(const ServedModel& m, const nlohmann::ordered_json& messages,
                             const nlohmann::ordered_json& tools,
                             const nlohmann::ordered_json& extra = nlohmann::ordered_json::object(),
                             const std::string& assistant_prefix = "");

// Submits the n choices (constrained when spec.json_mode); engine refusals become API errors.
std::vector<std::shared_ptr<RequestStream>> submit_all(ServedModel& m, const CompletionSpec& spec,
                                                        const char* prompt_field);

struct Choice {
  std::string text;
  std::vector<TokenEvent> tokens;
  GenerationResult result;
};

// Non-streamed answers: waits for the choices while watching the connection (a client that goes
// away cancels them); `build` turns them into the JSON answer (it may throw ApiError, rendered in
// `dialect`'s shape — in the body when the status line has gone).
void reply_when_done(httplib::Response& res, RouteContext& ctx, std::vector<std::shared_ptr<RequestStream>> streams,
                     std::function<nlohmann::json(const std::vector<Choice>&)> build,
                     ApiDialect dialect = ApiDialect::OpenAI);

// One streamed answer: each callback returns the bytes to send ("" sends nothing).
struct StreamWriter {
  std::function<std::string()> open;                                // at once, before any token
  std::function<std::string(const TokenEvent&)> token;              // each event with text
  std::function<std::string(const GenerationResult&)> finish;       // when it ends normally
  std::function<std::string(const ApiError&)> error;                // when generation fails
};
void stream_answer(httplib::Response& res, RouteContext& ctx, std::shared_ptr<RequestStream> stream,
                   const char* content_type, StreamWriter writer);

// "stop" / "length"; a failed generation throws its 500.
std::string finish_reason(const GenerationResult& r);
// A failed generation as an API error (500 with its code).
ApiError generation_error(const GenerationResult& r);
nlohmann::json usage_json(int32_t prompt, int32_t completion, int32_t cached);
// Usage of n choices of one prompt: the prompt counts once, completions add up.
nlohmann::json usage_of(const std::vector<Choice>& choices);

// Counts requests in flight (for draining); streaming handlers count themselves until the stream ends.
template <typename Handler>
std::function<void(const httplib::Request&, httplib::Response&)> counted(RouteContext& ctx, Handler h) {
  return [&ctx, h](const httplib::Request& req, httplib::Response& res) {
    ++ctx.in_flight;
    struct Guard {
      RouteContext& c;
      ~Guard() { --c.in_flight; }
    } guard{ctx};
    h(ctx, req, res);
  };
}

}  // namespace citadel
