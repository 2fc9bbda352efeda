// POST /v1/responses: the OpenAI Responses API, stateless (nothing is stored, so
// previous_response_id is refused), translated onto the one generation path (server/generation.h):
// instructions and input items become the template's messages, function tools its tools,
// text.format our constrained decoding; answers come back as output items, streamed as typed events.
#include <httplib.h>

#include "server/generation.h"
#include "server/json_fields.h"
#include "server/metrics_routes.h"

namespace citadel {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// Fields that need state or services this server does not keep: a 400 naming each.
void refuse_stateful(const json& body) {
  if (auto p = body.find("previous_response_id"); p != body.end() && !p->is_null())
    throw ApiError(400,
                   "'previous_response_id' is not supported: responses are not stored here (stateless); "
                   "send the whole conversation in 'input'",
                   "previous_response_id", "unsupported_parameter");
  if (auto c = body.find("conversation"); c != body.end() && !c->is_null())
    throw ApiError(400, "'conversation' is not supported: conversations are not stored here; send them in 'input'",
                   "conversation", "unsupported_parameter");
  if (get_bool(body, "background", false))
    throw ApiError(400, "'background' is not supported: responses are not stored here", "background", "unsupported_parameter");
  if (auto p = body.find("prompt"); p != body.end() && !p->is_null())
    throw ApiError(400, "'prompt' (stored prompt templates) is not supported", "prompt", "unsupported_parameter");
}

// A message item's content: a string or text parts.
std::string item_text(const json& content, const std::string& where) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw invalid_field(where, "must be a string or an array of content parts");
  std::string text;
  for (size_t j = 0; j < content.size(); ++j) {
    const json& part = content[j];
    const std::string at = where + "[" + std::to_string(j) + "]";
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) throw invalid_field(at + ".type", "must be a string");
    const std::string type = part["type"];
    if (type == "input_text" || type == "output_text" || type == "text") text += required_string(part, "text");
    else if (type == "refusal") text += required_string(part, "refusal");
    else if (type == "input_image" || type == "input_file" || type == "input_audio")
      throw invalid_field(at, type + " parts are not supported yet (the served models read text only)");
    else throw invalid_field(at + ".type", "'" + type.substr(0, 64) + "' is not a content part type");
  }
  return text;
}

ojson input_messages(const json& body) {
  ojson out = ojson::array();
  if (auto ins = get_optional_string(body, "instructions")) {
    note_input_text(*ins);
    out.push_back({{"role", "system"}, {"content", *ins}});
  }
  auto it = body.find("input");
  if (it == body.end() || it->is_null()) throw ApiError(400, "'input' is required", "input", "missing_field");
  if (it->is_string()) {
    note_input_text(it->get<std::string>());
    out.push_back({{"role", "user"}, {"content", it->get<std::string>()}});
    return out;
  }
  if (!it->is_array() || it->empty()) throw invalid_field("input", "must be a string or a non-empty array of items");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& item = (*it)[i];
    const std::string where = "input[" + std::to_string(i) + "]";
    if (!item.is_object()) throw invalid_field(where, "must be an object");
    const std::string type = get_string(item, "type", "message");
    if (type == "message") {
      if (!item.contains("role")) throw ApiError(400, "'" + where + ".role' is required", where + ".role", "missing_field");
      const std::string role = chat_role(item["role"], where + ".role");
      if (role == "tool" || role == "function") throw invalid_field(where + ".role", "must be user, assistant, system or developer");
      if (!item.contains("content")) throw ApiError(400, "'" + where + ".content' is required", where + ".content", "missing_field");
      const std::string text = item_text(item["content"], where + ".content");
      note_input_text(text);
      out.push_back({{"role", role}, {"content", text}});
    } else if (type == "function_call") {
      ToolCall call{required_string(item, "call_id"), required_string(item, "name"), required_string(item, "arguments")};
      // Calls that follow an assistant turn belong to it.
      if (!out.empty() && out.back()["role"] == "assistant") {
        ojson& turn = out.back();
        if (!turn.contains("tool_calls")) turn["tool_calls"] = ojson::array();
        turn["tool_calls"].push_back(assistant_turn("", {call})["tool_calls"][0]);
      } else {
        out.push_back(assistant_turn("", {call}));
      }
    } else if (type == "function_call_output") {
      const std::string id = required_string(item, "call_id");
      auto o = item.find("output");
      if (o == item.end() || o->is_null()) throw ApiError(400, "'" + where + ".output' is required", where + ".output", "missing_field");
      const std::string text = item_text(*o, where + ".output");
      note_input_text(text);
      out.push_back({{"role", "tool"}, {"tool_call_id", id}, {"content", text}});
    } else if (type == "reasoning") {
      // Earlier reasoning sent back: not part of what the template renders.
    } else if (type == "item_reference") {
      throw invalid_field(where, "item references need stored items, and nothing is stored here (stateless)");
    } else {
      throw invalid_field(where + ".type", "'" + type.substr(0, 64) + "' is not a supported input item type");
    }
  }
  return out;
}

ojson function_tools(const json& body) {
  auto t = body.find("tools");
  if (t == body.end() || t->is_null()) return nullptr;
  if (!t->is_array()) throw invalid_field("tools", "must be an array");
  if (t->size() > 128) throw invalid_field("tools", "may hold at most 128 tools");
  ojson tools = ojson::array();
  for (size_t i = 0; i < t->size(); ++i) {
    const json& tool = (*t)[i];
    const std::string at = "tools[" + std::to_string(i) + "]";
    if (!tool.is_object()) throw invalid_field(at, "must be an object");
    const std::string type = required_string(tool, "type");
    if (type != "function") throw invalid_field(at + ".type", "'" + type.substr(0, 64) + "': only function tools are supported");
    auto params = tool.find("parameters");
    if (params != tool.end() && !params->is_null() && !params->is_object()) throw invalid_field(at + ".parameters", "must be an object");
    tools.push_back(function_tool(required_string(tool, "name"), get_string(tool, "description", ""),
                                  params == tool.end() ? json(nullptr) : *params));
  }
  return tools.empty() ? ojson(nullptr) : tools;
}

// What to echo as the response's text.format, and the schema to decode with (null: free text).
std::shared_ptr<const JsonSchema> text_format(const json& body, bool* json_mode, json* echo) {
  *echo = {{"type", "text"}};
  auto t = body.find("text");
  if (t == body.end() || t->is_null()) return nullptr;
  if (!t->is_object()) throw invalid_field("text", "must be an object");
  auto f = t->find("format");
  if (f == t->end() || f->is_null()) return nullptr;
  if (!f->is_object()) throw invalid_field("text.format", "must be an object");
  const std::string type = required_string(*f, "type");
  *echo = *f;
  if (type == "text") return nullptr;
  *json_mode = true;
  if (type == "json_object") return nullptr;
  if (type != "json_schema") throw invalid_field("text.format.type", "must be text, json_object or json_schema");
  required_string(*f, "name");
  auto s = f->find("schema");
  if (s == f->end() || s->is_null()) throw ApiError(400, "'text.format.schema' is required", "text.format.schema", "missing_field");
  return compile_schema(*s, "text.format.schema");
}

json message_item(const std::string& id, const std::string& text, const char* status) {
  json content = json::array();
  if (std::string(status) != "in_progress")
    content.push_back({{"type", "output_text"}, {"text", text}, {"annotations", json::array()}, {"logprobs", json::array()}});
  return {{"type", "message"}, {"id", id}, {"status", status}, {"role", "assistant"}, {"content", content}};
}

// A message cut by max_output_tokens is "incomplete", as the response.
json output_items(const std::string& text, bool tools_on, bool cut) {
  json items = json::array();
  if (tools_on) {
    ParsedToolCalls parsed = parse_tool_calls(text);
    if (!parsed.calls.empty()) {
      if (!parsed.content.empty()) items.push_back(message_item(random_id("msg_"), parsed.content, "completed"));
      for (const auto& c : parsed.calls)
        items.push_back({{"type", "function_call"}, {"id", random_id("fc_")}, {"call_id", c.id}, {"name", c.name},
                         {"arguments", c.arguments}, {"status", "completed"}});
      return items;
    }
  }
  items.push_back(message_item(random_id("msg_"), text, cut ? "incomplete" : "completed"));
  return items;
}

// The parts of the response object known before generation; the rest is filled at the end.
struct ResponseFrame {
  std::string id, model;
  int64_t created = 0;
  json instructions, max_output_tokens, text_format, tool_choice, tools, metadata;
  double temperature = 1, top_p = 1;
  bool parallel_tool_calls = true;

  json object(const char* status, const json& output, const json& usage, const json& incomplete) const {
    return {{"id", id}, {"object", "response"}, {"created_at", created}, {"status", status},
            {"background", false}, {"error", nullptr}, {"incomplete_details", incomplete},
            {"instructions", instructions}, {"max_output_tokens", max_output_tokens}, {"model", model},
            {"output", output}, {"parallel_tool_calls", parallel_tool_calls}, {"previous_response_id", nullptr},
            {"reasoning", {{"effort", nullptr}, {"summary", nullptr}}}, {"store", false},
            {"temperature", temperature}, {"text", {{"format", text_format}}}, {"tool_choice", tool_choice},
            {"tools", tools}, {"top_p", top_p}, {"truncation", "disabled"}, {"usage", usage},
            {"metadata", metadata}};
  }
  json finished(const GenerationResult& r, const json& output) const {
    const bool cut = r.reason == FinishReason::Length;
    const json usage = {{"input_tokens", r.prompt_tokens},
                        {"input_tokens_details", {{"cached_tokens", r.cached_prompt_tokens}}},
                        {"output_tokens", r.completion_tokens},
                        {"output_tokens_details", {{"reasoning_tokens", 0}}},
                        {"total_tokens", r.prompt_tokens + r.completion_tokens}};
    return object(cut ? "incomplete" : "completed", output, usage,
                  cut ? json{{"reason", "max_output_tokens"}} : json(nullptr));
  }
};

void handle_responses(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req.body);
  refuse_stateful(body);
  ServedModel& m = ctx.model_for(body);
  get_bool(body, "store", false);  // accepted; nothing is stored either way
  CompletionSpec spec;
  SamplingFields names;
  names.max_tokens = "max_output_tokens";
  names.top_k = names.min_p = names.frequency_penalty = names.presence_penalty = names.repeat_penalty = names.seed =
      names.stop = nullptr;
  read_sampling(body, names, spec.base, ctx);
  spec.stream = get_bool(body, "stream", false);
  ResponseFrame frame;
  frame.id = random_id("resp_");
  frame.model = m.id;
  frame.created = now_unix();
  frame.instructions = body.contains("instructions") ? body["instructions"] : json(nullptr);
  frame.max_output_tokens = body.contains("max_output_tokens") ? body["max_output_tokens"] : json(nullptr);
  frame.temperature = spec.base.sampling.temperature;
  frame.top_p = spec.base.sampling.top_p;
  frame.parallel_tool_calls = get_bool(body, "parallel_tool_calls", true);
  frame.metadata = body.contains("metadata") && body["metadata"].is_object() ? body["metadata"] : json::object();
  spec.schema = text_format(body, &spec.json_mode, &frame.text_format);

  ojson messages = input_messages(body);
  ojson tools = function_tools(body);
  frame.tools = tools.is_null() ? json::array() : json::parse(body["tools"].dump());
  frame.tool_choice = "auto";
  if (auto c = body.find("tool_choice"); c != body.end() && !c->is_null()) {
    frame.tool_choice = *c;
    const std::string choice = c->is_string() ? c->get<std::string>() : c->is_object() ? get_string(*c, "type", "") : "";
    if (choice == "none") {
      tools = nullptr;
    } else if (choice == "required" || choice == "function") {
      if (tools.is_null()) throw invalid_field("tool_choice", "needs tools");
      if (spec.json_mode) throw invalid_field("tool_choice", "cannot force a tool call together with text.format " + frame.text_format.value("type", ""));
      spec.schema = forced_tool_call_schema(tools, choice == "function" ? required_string(*c, "name") : "");
      spec.json_mode = true;
    } else if (choice != "auto") {
      throw invalid_field("tool_choice", "must be auto, none, required or {\"type\": \"function\", \"name\": ...}");
    }
  }
  const bool tools_on = !tools.is_null();
  spec.base.prompt = render_chat_prompt(m, messages, tools);
  auto streams = submit_all(m, spec, "input");

  if (!spec.stream) {
    reply_when_done(res, ctx, streams, [=](const std::vector<Choice>& done) -> json {
      const Choice& c = done[0];
      if (c.result.reason == FinishReason::Error) throw generation_error(c.result);
      return frame.finished(c.result, output_items(c.text, tools_on, c.result.reason == FinishReason::Length));
    });
    return;
  }

  // Streaming: typed events, each with its sequence number. With tools the text is held until
  // the end, to tell a function call from prose.
  auto seq = std::make_shared<int64_t>(0);
  auto held = std::make_shared<std::string>();
  const std::string item_id = random_id("msg_");
  auto event = [seq](const char* type, json data) {
    data["type"] = type;
    data["sequence_number"] = (*seq)++;
    return std::string("event: ") + type + "\ndata: " + dump_json(data) + "\n\n";
  };
  // The events of one finished output item, from its addition to its completion.
  auto item_events = [event](const json& item, size_t index, bool added_already) {
    std::string out;
    const std::string id = item["id"];
    if (item["type"] == "function_call") {
      json opening = item;
      opening["arguments"] = "";
      opening["status"] = "in_progress";
      out += event("response.output_item.added", {{"output_index", index}, {"item", opening}});
      out += event("response.function_call_arguments.delta", {{"item_id", id}, {"output_index", index}, {"delta", item["arguments"]}});
      out += event("response.function_call_arguments.done",
                   {{"item_id", id}, {"output_index", index}, {"name", item["name"]}, {"arguments", item["arguments"]}});
    } else {
      const json part = item["content"][0];
      if (!added_already) {
        out += event("response.output_item.added", {{"output_index", index}, {"item", message_item(id, "", "in_progress")}});
        out += event("response.content_part.added",
                     {{"item_id", id}, {"output_index", index}, {"content_index", 0},
                      {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}}}});
        out += event("response.output_text.delta", {{"item_id", id}, {"output_index", index}, {"content_index", 0},
                                                    {"delta", part["text"]}, {"logprobs", json::array()}});
      }
      out += event("response.output_text.done", {{"item_id", id}, {"output_index", index}, {"content_index", 0},
                                                 {"text", part["text"]}, {"logprobs", json::array()}});
      out += event("response.content_part.done", {{"item_id", id}, {"output_index", index}, {"content_index", 0}, {"part", part}});
    }
    return out + event("response.output_item.done", {{"output_index", index}, {"item", item}});
  };
  StreamWriter w;
  w.open = [=] {
    const json opening = frame.object("in_progress", json::array(), nullptr, nullptr);
    std::string out = event("response.created", {{"response", opening}});
    out += event("response.in_progress", {{"response", opening}});
    if (!tools_on) {
      out += event("response.output_item.added", {{"output_index", 0}, {"item", message_item(item_id, "", "in_progress")}});
      out += event("response.content_part.added", {{"item_id", item_id}, {"output_index", 0}, {"content_index", 0},
                                                   {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}}}});
    }
    return out;
  };
  w.token = [=](const TokenEvent& ev) -> std::string {
    *held += ev.text;
    if (tools_on) return "";
    return event("response.output_text.delta", {{"item_id", item_id}, {"output_index", 0}, {"content_index", 0},
                                                {"delta", ev.text}, {"logprobs", json::array()}});
  };
  w.finish = [=](const GenerationResult& r) {
    const bool cut = r.reason == FinishReason::Length;
    json output = tools_on ? output_items(*held, true, cut)
                           : json::array({message_item(item_id, *held, cut ? "incomplete" : "completed")});
    std::string out;
    for (size_t i = 0; i < output.size(); ++i) out += item_events(output[i], i, !tools_on);
    const json done = frame.finished(r, output);
    return out + event(done["status"] == "completed" ? "response.completed" : "response.incomplete", {{"response", done}});
  };
  w.error = [=](const ApiError& e) {
    return event("error", {{"code", e.code()}, {"message", e.what()}, {"param", nullptr}});
  };
  stream_answer(res, ctx, streams[0], "text/event-stream", w);
}

}  // namespace

void register_responses_routes(httplib::Server& http, RouteContext& ctx) {
  http.Post("/v1/responses", counted(ctx, handle_responses));
}

}  // namespace citadel
