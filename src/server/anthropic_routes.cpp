// POST /v1/messages and /v1/messages/count_tokens: the Anthropic Messages API, translated onto the
// one generation path (server/generation.h): its conversation becomes the template's messages,
// its tools and tool_choice the template's tools and a constrained tool call, its output_config
// format our schema-constrained decoding; answers come back as content blocks, streamed as
// Anthropic's SSE events. Errors take Anthropic's shape from the exception handler (api_error.h).
#include <httplib.h>

#include "engine/multimodal_prompt.h"
#include "server/generation.h"
#include "server/image_input.h"
#include "server/json_fields.h"
#include "server/metrics_routes.h"

namespace citadel {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// The request's conversation and tool settings, as the template and the engine take them.
struct MessagesPrompt {
  ojson messages = ojson::array();
  ojson tools = nullptr;        // function_tool() shapes; null when none (or tool_choice none)
  std::string prefill;          // a final assistant turn the answer continues
  std::vector<ImageRef> images;  // image blocks, in order; each stands as "<image>" in its message
  std::shared_ptr<const JsonSchema> forced;  // tool_choice any / tool: a constrained call
};

std::string text_of_blocks(const json& content, const std::string& where, bool allow_string) {
  if (allow_string && content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw invalid_field(where, allow_string ? "must be a string or an array of blocks" : "must be an array of blocks");
  std::string text;
  for (size_t j = 0; j < content.size(); ++j) {
    const json& b = content[j];
    const std::string at = where + "[" + std::to_string(j) + "]";
    if (!b.is_object() || !b.contains("type") || !b["type"].is_string()) throw invalid_field(at + ".type", "must be a string");
    const std::string type = b["type"];
    if (type == "image" || type == "document")
      throw invalid_field(at, type + " blocks are not supported yet (the served models read text only)");
    if (type != "text") throw invalid_field(at + ".type", "must be text here (got '" + type.substr(0, 64) + "')");
    text += required_string(b, "text");
  }
  return text;
}

// One Anthropic message -> the template's messages (tool results become tool turns).
void add_message(const json& m, const std::string& where, MessagesPrompt& out) {
  if (!m.is_object()) throw invalid_field(where, "must be an object");
  if (!m.contains("role") || !m["role"].is_string()) throw invalid_field(where + ".role", "must be user or assistant");
  const std::string role = m["role"];
  if (role != "user" && role != "assistant") throw invalid_field(where + ".role", "must be user or assistant");
  if (!m.contains("content")) throw ApiError(400, "'" + where + ".content' is required", where + ".content", "missing_field");
  const json& content = m["content"];
  std::string text;
  std::vector<ToolCall> calls;
  if (content.is_string()) {
    text = content.get<std::string>();
  } else if (content.is_array()) {
    for (size_t j = 0; j < content.size(); ++j) {
      const json& b = content[j];
      const std::string at = where + ".content[" + std::to_string(j) + "]";
      if (!b.is_object() || !b.contains("type") || !b["type"].is_string()) throw invalid_field(at + ".type", "must be a string");
      const std::string type = b["type"];
      if (type == "text") {
        text += required_string(b, "text");
      } else if (type == "image" && role == "user") {
        // {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "..."}}
        auto src = b.find("source");
        if (src == b.end() || !src->is_object()) throw invalid_field(at + ".source", "must be an object");
        const std::string kind = get_string(*src, "type", "");
        if (kind != "base64")
          throw invalid_field(at + ".source.type", "must be base64 (remote image URLs are not fetched)");
        out.images.push_back(
            {"data:" + required_string(*src, "media_type") + ";base64," + required_string(*src, "data"), at + ".source",
             parse_dicom_options(b.value("dicom", json()), at + ".dicom")});  // window, frame, attributes
        text += kImageMarker;
      } else if (type == "image" || type == "document") {
        throw invalid_field(at, type + " blocks are not supported (images only in user messages)");
      } else if (type == "tool_use" && role == "assistant") {
        auto input = b.find("input");
        if (input == b.end() || !input->is_object()) throw invalid_field(at + ".input", "must be an object");
        calls.push_back({required_string(b, "id"), required_string(b, "name"), input->dump()});
      } else if (type == "tool_result" && role == "user") {
        const std::string id = required_string(b, "tool_use_id");
        std::string result;
        if (auto c = b.find("content"); c != b.end() && !c->is_null()) result = text_of_blocks(*c, at + ".content", true);
        if (get_bool(b, "is_error", false)) result = "Error: " + result;
        note_input_text(result);
        out.messages.push_back({{"role", "tool"}, {"tool_call_id", id}, {"content", result}});
      } else if (type == "thinking" || type == "redacted_thinking") {
        // Earlier reasoning the client sends back: not part of what the template renders.
      } else {
        throw invalid_field(at + ".type", "'" + type.substr(0, 64) + "' is not a content block type of a " + role + " message");
      }
    }
  } else {
    throw invalid_field(where + ".content", "must be a string or an array of content blocks");
  }
  note_input_text(text);
  if (role == "assistant") out.messages.push_back(assistant_turn(text, calls));
  else if (!text.empty() || content.is_string() || content.empty()) out.messages.push_back({{"role", "user"}, {"content", text}});
}

MessagesPrompt messages_prompt(const json& body) {
  MessagesPrompt out;
  if (auto sys = body.find("system"); sys != body.end() && !sys->is_null()) {
    const std::string text = text_of_blocks(*sys, "system", true);
    note_input_text(text);
    out.messages.push_back({{"role", "system"}, {"content", text}});
  }
  auto it = body.find("messages");
  if (it == body.end() || it->is_null()) throw ApiError(400, "'messages' is required", "messages", "missing_field");
  if (!it->is_array() || it->empty()) throw invalid_field("messages", "must be a non-empty array");
  for (size_t i = 0; i < it->size(); ++i) add_message((*it)[i], "messages[" + std::to_string(i) + "]", out);
  // A final assistant turn without tool calls is a prefill: the answer continues its text.
  const ojson& last = out.messages.back();
  if (last["role"] == "assistant" && !last.contains("tool_calls")) {
    out.prefill = last["content"].get<std::string>();
    out.messages.erase(out.messages.size() - 1);
  }

  if (auto t = body.find("tools"); t != body.end() && !t->is_null()) {
    if (!t->is_array()) throw invalid_field("tools", "must be an array");
    if (t->size() > 128) throw invalid_field("tools", "may hold at most 128 tools");
    out.tools = ojson::array();
    for (size_t i = 0; i < t->size(); ++i) {
      const json& tool = (*t)[i];
      const std::string at = "tools[" + std::to_string(i) + "]";
      if (!tool.is_object()) throw invalid_field(at, "must be an object");
      const std::string type = get_string(tool, "type", "custom");
      if (type != "custom") throw invalid_field(at + ".type", "'" + type.substr(0, 64) + "': only custom (client) tools are supported");
      auto schema = tool.find("input_schema");
      if (schema == tool.end() || !schema->is_object()) throw invalid_field(at + ".input_schema", "must be an object");
      out.tools.push_back(function_tool(required_string(tool, "name"), get_string(tool, "description", ""), *schema));
    }
    if (out.tools.empty()) out.tools = nullptr;
  }
  if (auto c = body.find("tool_choice"); c != body.end() && !c->is_null()) {
    if (!c->is_object()) throw invalid_field("tool_choice", "must be an object");
    const std::string type = required_string(*c, "type");
    if (type == "none") {
      out.tools = nullptr;
    } else if (type == "any" || type == "tool") {
      if (out.tools.is_null()) throw invalid_field("tool_choice", "needs tools");
      out.forced = forced_tool_call_schema(out.tools, type == "tool" ? required_string(*c, "name") : "");
    } else if (type != "auto") {
      throw invalid_field("tool_choice.type", "must be auto, any, tool or none");
    }
  }
  return out;
}

// output_config.format (and the older output_format): {"type": "json_schema", "schema": {...}}.
std::shared_ptr<const JsonSchema> output_schema(const json& body) {
  const json* format = nullptr;
  const char* field = "output_config.format";
  if (auto oc = body.find("output_config"); oc != body.end() && !oc->is_null()) {
    if (!oc->is_object()) throw invalid_field("output_config", "must be an object");
    if (auto f = oc->find("format"); f != oc->end() && !f->is_null()) format = &*f;
  }
  if (auto f = body.find("output_format"); !format && f != body.end() && !f->is_null()) format = &*f, field = "output_format";
  if (!format) return nullptr;
  if (!format->is_object() || get_string(*format, "type", "") != "json_schema")
    throw invalid_field(field, "must be {\"type\": \"json_schema\", \"schema\": {...}}");
  auto schema = format->find("schema");
  if (schema == format->end()) throw invalid_field(std::string(field) + ".schema", "is required");
  return compile_schema(*schema, std::string(field) + ".schema");
}

std::string sse(const char* event, const json& data) {
  return std::string("event: ") + event + "\ndata: " + dump_json(data) + "\n\n";
}

json anthropic_usage(const GenerationResult& r) {
  return {{"input_tokens", r.prompt_tokens - r.cached_prompt_tokens}, {"output_tokens", r.completion_tokens},
          {"cache_creation_input_tokens", 0}, {"cache_read_input_tokens", r.cached_prompt_tokens}};
}

json tool_use_block(const ToolCall& call) {
  json input = json::parse(call.arguments, nullptr, false);
  if (!input.is_object()) input = json::object();
  return {{"type", "tool_use"}, {"id", random_id("toolu_")}, {"name", call.name}, {"input", input}};
}

// The answer's content blocks and stop reason.
std::pair<json, std::string> content_of(const std::string& text, const GenerationResult& r, bool tools_on) {
  json blocks = json::array();
  std::string reason = r.reason == FinishReason::Length ? "max_tokens"
                       : !r.stop_sequence.empty()       ? "stop_sequence"
                                                        : "end_turn";
  if (tools_on) {
    ParsedToolCalls parsed = parse_tool_calls(text);
    if (!parsed.calls.empty()) {
      if (!parsed.content.empty()) blocks.push_back({{"type", "text"}, {"text", parsed.content}});
      for (const auto& call : parsed.calls) blocks.push_back(tool_use_block(call));
      return {blocks, "tool_use"};
    }
  }
  blocks.push_back({{"type", "text"}, {"text", text}});
  return {blocks, reason};
}

void handle_messages(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req.body);
  if (!body.contains("max_tokens")) throw ApiError(400, "'max_tokens' is required", "max_tokens", "missing_field");
  ServedModel& m = ctx.model_for(body);
  CompletionSpec spec;
  SamplingFields names;
  names.temperature_max = 1.0;
  names.min_p = names.frequency_penalty = names.presence_penalty = names.repeat_penalty = names.seed = nullptr;
  names.stop = "stop_sequences";
  names.stop_must_be_list = true;
  read_sampling(body, names, spec.base, ctx);
  spec.stream = get_bool(body, "stream", false);
  if (auto md = body.find("metadata"); md != body.end() && !md->is_null() && !md->is_object())
    throw invalid_field("metadata", "must be an object");
  MessagesPrompt prompt = messages_prompt(body);
  spec.schema = output_schema(body);
  if (spec.schema && prompt.forced) throw invalid_field("output_config.format", "cannot be combined with a forced tool_choice");
  if (prompt.forced) spec.schema = prompt.forced;
  spec.json_mode = spec.schema != nullptr;
  const bool tools_on = !prompt.tools.is_null();
  if (prompt.images.empty()) {
    spec.base.prompt = render_chat_prompt(m, prompt.messages, prompt.tools, ojson::object(), prompt.prefill);
  } else {
    const std::vector<Image> images = decode_images(m, prompt.images);
    encode_prompt_with_images(m, render_chat_text(m, prompt.messages, prompt.tools, ojson::object(), prompt.prefill),
                              images, true, spec.base, "messages");
  }
  const std::string id = random_id("msg_");
  auto streams = submit_all(m, spec, "messages");
  const std::string model = m.id;

  if (!spec.stream) {
    reply_when_done(
        res, ctx, streams,
        [=](const std::vector<Choice>& done) -> json {
          const Choice& c = done[0];
          if (c.result.reason == FinishReason::Error) throw generation_error(c.result);
          auto [content, reason] = content_of(c.text, c.result, tools_on);
          return {{"id", id}, {"type", "message"}, {"role", "assistant"}, {"model", model}, {"content", content},
                  {"stop_reason", reason},
                  {"stop_sequence", reason == "stop_sequence" ? json(c.result.stop_sequence) : json(nullptr)},
                  {"usage", anthropic_usage(c.result)}};
        },
        ApiDialect::Anthropic);
    return;
  }

  // Streaming. With tools the text is held until the end, to tell a tool call from prose.
  const int32_t n_prompt = static_cast<int32_t>(spec.base.prompt.size());
  auto held = std::make_shared<std::string>();
  StreamWriter w;
  w.open = [=] {
    json start = {{"id", id}, {"type", "message"}, {"role", "assistant"}, {"model", model}, {"content", json::array()},
                  {"stop_reason", nullptr}, {"stop_sequence", nullptr},
                  {"usage", {{"input_tokens", n_prompt}, {"output_tokens", 0}}}};
    std::string out = sse("message_start", {{"type", "message_start"}, {"message", start}});
    if (!tools_on)
      out += sse("content_block_start", {{"type", "content_block_start"}, {"index", 0},
                                         {"content_block", {{"type", "text"}, {"text", ""}}}});
    return out + sse("ping", {{"type", "ping"}});
  };
  w.token = [=](const TokenEvent& ev) -> std::string {
    if (tools_on) {
      *held += ev.text;
      return "";
    }
    return sse("content_block_delta", {{"type", "content_block_delta"}, {"index", 0},
                                       {"delta", {{"type", "text_delta"}, {"text", ev.text}}}});
  };
  w.finish = [=](const GenerationResult& r) {
    std::string out;
    auto [content, reason] = tools_on ? content_of(*held, r, true) : std::pair<json, std::string>{json::array(), ""};
    if (!tools_on) {
      out += sse("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}});
      reason = content_of("", r, false).second;
    }
    for (size_t i = 0; i < content.size(); ++i) {
      const json& b = content[i];
      if (b["type"] == "text") {
        out += sse("content_block_start", {{"type", "content_block_start"}, {"index", i},
                                           {"content_block", {{"type", "text"}, {"text", ""}}}});
        out += sse("content_block_delta", {{"type", "content_block_delta"}, {"index", i},
                                           {"delta", {{"type", "text_delta"}, {"text", b["text"]}}}});
      } else {
        json start = b;
        start["input"] = json::object();
        out += sse("content_block_start", {{"type", "content_block_start"}, {"index", i}, {"content_block", start}});
        out += sse("content_block_delta", {{"type", "content_block_delta"}, {"index", i},
                                           {"delta", {{"type", "input_json_delta"}, {"partial_json", b["input"].dump()}}}});
      }
      out += sse("content_block_stop", {{"type", "content_block_stop"}, {"index", i}});
    }
    out += sse("message_delta", {{"type", "message_delta"},
                                 {"delta", {{"stop_reason", reason},
                                            {"stop_sequence", reason == "stop_sequence" ? json(r.stop_sequence) : json(nullptr)}}},
                                 {"usage", anthropic_usage(r)}});
    return out + sse("message_stop", {{"type", "message_stop"}});
  };
  w.error = [](const ApiError& e) { return sse("error", error_body(ApiDialect::Anthropic, e)); };
  stream_answer(res, ctx, streams[0], "text/event-stream", w);
}

void handle_count_tokens(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req.body);
  ServedModel& m = ctx.model_for(body);
  MessagesPrompt prompt = messages_prompt(body);
  const auto ids = render_chat_prompt(m, prompt.messages, prompt.tools, ojson::object(), prompt.prefill);
  int64_t n = static_cast<int64_t>(ids.size());
  if (!prompt.images.empty()) {  // each image takes the projector's rows (its marker's text tokens aside)
    require_vision(m, prompt.images.front().field);
    n += static_cast<int64_t>(prompt.images.size()) * m.clip->n_patches();
  }
  res.set_content(dump_json({{"input_tokens", n}}), "application/json");
}

}  // namespace

void register_anthropic_routes(httplib::Server& http, RouteContext& ctx) {
  http.Post("/v1/messages", counted(ctx, handle_messages));
  http.Post("/v1/messages/count_tokens", counted(ctx, handle_count_tokens));
}

}  // namespace citadel
