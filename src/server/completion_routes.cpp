// POST /v1/chat/completions, /v1/completions and /generate: request parsing, running the
// choices on the engine, and the OpenAI response shapes (whole or streamed as SSE).
#include <httplib.h>

#include "server/access_control.h"
#include "server/api_error.h"
#include "server/generation.h"
#include "engine/multimodal_prompt.h"
#include "server/image_input.h"
#include "server/metrics_routes.h"
#include "server/json_fields.h"
#include "server/route_context.h"
#include "server/upstream_forward.h"
#include "server/tool_calls.h"

namespace citadel {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

std::string dump(const json& j) { return dump_json(j); }

// The sampling fields shared by every completion route.
void parse_sampling(const json& body, CompletionSpec& spec, const RouteContext& ctx) {
  read_sampling(body, SamplingFields{}, spec.base, ctx);
  spec.base.max_tokens = static_cast<int32_t>(get_int(body, "max_completion_tokens", spec.base.max_tokens, 1, 1 << 24));
  spec.n = static_cast<int>(get_int(body, "n", 1, 1, 16));
  spec.stream = get_bool(body, "stream", false);
  if (auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw invalid_field("stream_options", "must be an object");
    spec.include_usage = get_bool(*it, "include_usage", false);
  }
  if (auto it = body.find("response_format"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw invalid_field("response_format", "must be an object");
    const std::string type = get_string(*it, "type", "text");
    if (type == "json_object" || type == "json_schema") spec.json_mode = true;
    else if (type != "text") throw invalid_field("response_format.type", "must be text, json_object or json_schema");
    if (type == "json_schema") {
      if (!it->contains("json_schema") || !(*it)["json_schema"].is_object())
        throw invalid_field("response_format.json_schema", "is required for type json_schema");
      const json& spec_schema = (*it)["json_schema"];
      if (auto s = spec_schema.find("schema"); s != spec_schema.end() && !s->is_null())
        spec.schema = compile_schema(*s, "response_format.json_schema.schema");
    }
  }
}

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(c);
  return b;
}

json chat_logprobs(const std::vector<TokenEvent>& tokens, const Tokenizer& tok) {
  json content = json::array();
  for (const auto& t : tokens) {
    json tops = json::array();
    for (const auto& alt : t.top) tops.push_back({{"token", alt.piece}, {"logprob", alt.logprob}, {"bytes", bytes_of(alt.piece)}});
    const std::string piece = tok.token_to_piece(t.token);
    content.push_back({{"token", piece}, {"logprob", t.logprob}, {"bytes", bytes_of(piece)}, {"top_logprobs", tops}});
  }
  return {{"content", content}};
}

json completion_logprobs(const std::vector<TokenEvent>& tokens, const Tokenizer& tok) {
  json toks = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  size_t offset = 0;
  for (const auto& t : tokens) {
    const std::string piece = tok.token_to_piece(t.token);
    toks.push_back(piece);
    lps.push_back(t.logprob);
    json top = json::object();
    for (const auto& alt : t.top) top[alt.piece] = alt.logprob;
    tops.push_back(top);
    offsets.push_back(offset);
    offset += piece.size();
  }
  return {{"tokens", toks}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

// Chat messages -> the ordered JSON the template expects (content parts joined to text; an image
// part becomes "<image>" there, its source appended to `images`).
ojson chat_messages(const json& body, std::vector<ImageRef>& images) {
  auto it = body.find("messages");
  if (it == body.end()) throw ApiError(400, "'messages' is required", "messages", "missing_field");
  if (!it->is_array() || it->empty()) throw invalid_field("messages", "must be a non-empty array");
  // "dicom": {...} for every DICOM image of the request; an image_url's own "dicom" replaces it.
  const DicomOptions request_dicom = parse_dicom_options(body.value("dicom", json()), "dicom");
  ojson out = ojson::array();
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw invalid_field(where, "must be an object");
    if (!m.contains("role")) throw invalid_field(where + ".role", "is required");
    ojson msg = ojson::parse(m.dump());
    msg["role"] = chat_role(m["role"], where + ".role");  // OpenAI answers an unknown role with 400
    if (m.contains("content") && m["content"].is_array()) {
      std::string text;
      for (const auto& part : m["content"]) {
        if (part.is_object() && part.value("type", "") == "image_url") {
          // {"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}} (or the URL as a string)
          const json* url = nullptr;
          DicomOptions dicom = request_dicom;
          if (auto iu = part.find("image_url"); iu != part.end()) {
            if (iu->is_string()) url = &*iu;
            else if (iu->is_object() && iu->contains("url") && (*iu)["url"].is_string()) url = &(*iu)["url"];
            if (iu->is_object() && iu->contains("dicom"))
              dicom = parse_dicom_options((*iu)["dicom"], where + ".content.image_url.dicom");
          }
          if (!url) throw invalid_field(where + ".content", "has an image_url part without a url");
          const std::string u = url->get<std::string>();
          if (u.rfind("data:", 0) != 0)  // never fetched, and never taken for bare base64
            (void)decode_data_url(u, where + ".content");
          images.push_back({u, where + ".content", std::move(dicom)});
          text += kImageMarker;
          continue;
        }
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
          throw invalid_field(where + ".content", "only text and image_url parts are supported");
        text += part["text"].get<std::string>();
      }
      msg["content"] = text;
    } else if (m.contains("content") && !m["content"].is_string() && !m["content"].is_null()) {
      throw invalid_field(where + ".content", "must be a string, an array of text parts, or null");
    }
    const bool no_content = !msg.contains("content") || msg["content"].is_null();
    if (no_content && !m.contains("tool_calls") && m["role"] != "assistant")
      throw invalid_field(where + ".content", "is required");
    // Assistant turns that only call tools arrive with null content; templates expect a string.
    if (no_content) msg["content"] = "";
    note_input_text(msg["content"].get<std::string>());
    out.push_back(std::move(msg));
  }
  return out;
}

// The conversation into r.prompt (and r.embeddings, for images).
void chat_prompt(ServedModel& m, const json& body, bool* has_tools, GenerationRequest& r) {
  std::vector<ImageRef> refs;
  ojson messages = chat_messages(body, refs);
  const std::vector<Image> images = decode_images(m, refs);
  ojson tools = nullptr;
  if (auto it = body.find("tools"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) throw invalid_field("tools", "must be an array");
    tools = ojson::parse(it->dump());
    *has_tools = !it->empty();
  }
  ojson extra = ojson::object();
  if (auto it = body.find("chat_template_kwargs"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw invalid_field("chat_template_kwargs", "must be an object");
    extra = ojson::parse(it->dump());
  }
  if (images.empty()) {
    r.prompt = render_chat_prompt(m, messages, tools, extra);
    return;
  }
  encode_prompt_with_images(m, render_chat_text(m, messages, tools, extra), images, true, r, "messages");
}

// Streams the choices as SSE; `make_chunk(index, delta_text, finish_reason_or_null, role, token)`
// (token: the event behind the text, null for the opening chunk).
template <typename MakeChunk, typename Finish>
void stream_sse(httplib::Response& res, RouteContext& ctx, std::vector<std::shared_ptr<RequestStream>> streams,
                MakeChunk make_chunk, Finish on_finish, bool include_usage, std::function<json(json)> usage_chunk) {
  ++ctx.in_flight;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [streams, make_chunk, on_finish, include_usage, usage_chunk](size_t, httplib::DataSink& sink) mutable {
        auto send = [&](const json& j) {
          const std::string s = "data: " + dump(j) + "\n\n";
          return sink.write(s.data(), s.size());
        };
        auto cancel_all = [&] {
          for (auto& s : streams) s->cancel();
        };
        for (size_t i = 0; i < streams.size(); ++i) {
          json first = make_chunk(i, std::optional<std::string>(), json(nullptr), true, nullptr);
          if (!first.is_null() && !send(first)) return cancel_all(), false;
        }
        std::vector<bool> done(streams.size(), false);
        std::vector<std::string> texts(streams.size());  // for the audit trail
        size_t n_done = 0;
        int32_t prompt_tokens = 0, completion_tokens = 0, cached = 0;
        while (n_done < streams.size()) {
          for (size_t i = 0; i < streams.size(); ++i) {
            if (done[i]) continue;
            TokenEvent ev;
            auto got = streams[i]->next_for(ev, std::chrono::milliseconds(streams.size() > 1 ? 5 : 1000));
            if (!got) {
              if (!sink.is_writable()) return cancel_all(), false;  // the client went away
              continue;
            }
            if (*got) {
              texts[i] += ev.text;
              if (!ev.text.empty() || !ev.top.empty()) {
                json chunk = make_chunk(i, std::optional<std::string>(ev.text), json(nullptr), false, &ev);
                if (chunk.is_null()) continue;
                if (!send(chunk)) return cancel_all(), false;
              }
              continue;
            }
            done[i] = true;
            ++n_done;
            const GenerationResult& r = streams[i]->result();
            observe_generation(r);
            note_output_text(texts[i]);
            if (r.reason == FinishReason::Error) {  // the status line has gone: an error event ends the stream
              cancel_all();
              send(ApiError(500, "generation failed: " + r.error, "", r.error_code).body());
              sink.done();
              return true;
            }
            prompt_tokens = r.prompt_tokens;
            cached = r.cached_prompt_tokens;
            completion_tokens += r.completion_tokens;
            json last = on_finish(i, r);
            if (!send(last)) return cancel_all(), false;
          }
        }
        if (include_usage && !send(usage_chunk(usage_json(prompt_tokens, completion_tokens, cached)))) return false;
        static const char kDone[] = "data: [DONE]\n\n";
        sink.write(kDone, sizeof kDone - 1);
        sink.done();
        return true;
      },
      [&ctx, streams](bool) {
        for (auto& s : streams) s->cancel();
        --ctx.in_flight;
      });
}

void handle_chat(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req.body);
  ServedModel& m = ctx.model_for(body);
  if (m.upstream) return forward_to_upstream(ctx, m, req, res, body);  // served by other engines
  CompletionSpec spec;
  parse_sampling(body, spec, ctx);
  spec.logprobs = get_bool(body, "logprobs", false);
  const int64_t top = get_int(body, "top_logprobs", 0, 0, 20);
  if (spec.logprobs) spec.base.top_logprobs = static_cast<int32_t>(std::max<int64_t>(top, 1));
  chat_prompt(m, body, &spec.has_tools, spec.base);
  const std::string id = random_id("chatcmpl-");
  const int64_t created = now_unix();
  auto streams = submit_all(m, spec, "messages");

  if (!spec.stream) {
    reply_when_done(res, ctx, streams, [=, &m](const std::vector<Choice>& collected) -> json {
      json choices = json::array();
      for (size_t i = 0; i < collected.size(); ++i) {
        const Choice& c = collected[i];
        std::string reason = finish_reason(c.result);
        json message = {{"role", "assistant"}, {"content", c.text}};
        if (spec.has_tools) {
          ParsedToolCalls parsed = parse_tool_calls(c.text);
          if (!parsed.calls.empty()) {
            json calls = json::array();
            for (const auto& call : parsed.calls)
              calls.push_back({{"id", call.id}, {"type", "function"},
                               {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
            message["content"] = parsed.content.empty() ? json(nullptr) : json(parsed.content);
            message["tool_calls"] = calls;
            reason = "tool_calls";
          }
        }
        choices.push_back({{"index", i}, {"message", message},
                           {"logprobs", spec.logprobs ? chat_logprobs(c.tokens, *m.tokenizer) : json(nullptr)}, {"finish_reason", reason}});
      }
      return {{"id", id}, {"object", "chat.completion"}, {"created", created}, {"model", m.id},
              {"choices", choices}, {"usage", usage_of(collected)}, {"system_fingerprint", "citadel"}};
    });
    return;
  }

  // Streaming. With tools, a choice's text is held until it ends, to tell a tool call from prose.
  auto held = std::make_shared<std::vector<std::string>>(streams.size());
  const bool has_tools = spec.has_tools;
  const bool logprobs = spec.logprobs;
  auto chunk = [=, &m](size_t i, std::optional<std::string> text, json reason, bool role, const TokenEvent* ev) -> json {
    json delta = json::object();
    if (role) delta = {{"role", "assistant"}, {"content", ""}};
    if (text) {
      if (has_tools) {
        (*held)[i] += *text;
        return nullptr;
      }
      delta["content"] = *text;
    }
    const json lp = logprobs && ev ? chat_logprobs({*ev}, *m.tokenizer) : json(nullptr);
    return {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", m.id},
            {"system_fingerprint", "citadel"},
            {"choices", json::array({{{"index", i}, {"delta", delta}, {"logprobs", lp}, {"finish_reason", reason}}})}};
  };
  auto finish = [=, &m](size_t i, const GenerationResult& r) -> json {
    std::string reason = r.reason == FinishReason::Stop ? "stop" : "length";
    json delta = json::object();
    if (has_tools) {
      ParsedToolCalls parsed = parse_tool_calls((*held)[i]);
      if (!parsed.calls.empty()) {
        json calls = json::array();
        for (size_t k = 0; k < parsed.calls.size(); ++k)
          calls.push_back({{"index", k}, {"id", parsed.calls[k].id}, {"type", "function"},
                           {"function", {{"name", parsed.calls[k].name}, {"arguments", parsed.calls[k].arguments}}}});
        delta["tool_calls"] = calls;
        if (!parsed.content.empty()) delta["content"] = parsed.content;
        reason = "tool_calls";
      } else {
        delta["content"] = (*held)[i];
      }
    }
    return {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", m.id},
            {"system_fingerprint", "citadel"},
            {"choices", json::array({{{"index", i}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", reason}}})}};
  };
  auto usage = [=, &m](json u) -> json {
    return {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", m.id},
            {"choices", json::array()}, {"usage", u}};
  };
  stream_sse(res, ctx, streams, chunk, finish, spec.include_usage, usage);
}

std::vector<int32_t> completion_prompt(ServedModel& m, const json& body) {
  auto it = body.find("prompt");
  if (it == body.end() || it->is_null()) throw ApiError(400, "'prompt' is required", "prompt", "missing_field");
  if (it->is_string() || (it->is_array() && it->size() == 1 && (*it)[0].is_string())) {
    const std::string prompt = it->is_string() ? it->get<std::string>() : (*it)[0].get<std::string>();
    note_input_text(prompt);
    return m.tokenizer->encode(model_input_text(prompt), true);
  }
  if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) {
    std::vector<int32_t> ids;
    for (const auto& v : *it) {
      if (!v.is_number_integer()) throw invalid_field("prompt", "token arrays must hold integers");
      ids.push_back(v.get<int32_t>());
    }
    return ids;
  }
  throw invalid_field("prompt", "must be a string, a one-string array, or an array of token ids");
}

void handle_completions(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req.body);
  ServedModel& m = ctx.model_for(body);
  if (m.upstream) return forward_to_upstream(ctx, m, req, res, body);  // served by other engines
  CompletionSpec spec;
  parse_sampling(body, spec, ctx);
  if (get_bool(body, "echo", false)) throw invalid_field("echo", "is not supported");
  const int64_t logprobs = get_int(body, "logprobs", -1, 0, 20);
  spec.logprobs = logprobs >= 0;
  if (spec.logprobs) spec.base.top_logprobs = static_cast<int32_t>(logprobs);
  spec.base.prompt = completion_prompt(m, body);
  const std::string id = random_id("cmpl-");
  const int64_t created = now_unix();
  auto streams = submit_all(m, spec, "prompt");
  if (!spec.stream) {
    const bool with_logprobs = spec.logprobs;
    reply_when_done(res, ctx, streams, [=, &m](const std::vector<Choice>& collected) -> json {
      json choices = json::array();
      for (size_t i = 0; i < collected.size(); ++i) {
        const Choice& c = collected[i];
        choices.push_back({{"index", i}, {"text", c.text},
                           {"logprobs", with_logprobs ? completion_logprobs(c.tokens, *m.tokenizer) : json(nullptr)},
                           {"finish_reason", finish_reason(c.result)}});
      }
      return {{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", m.id},
              {"choices", choices}, {"usage", usage_of(collected)}};
    });
    return;
  }
  const bool want_logprobs = spec.logprobs;
  auto chunk = [=, &m](size_t i, std::optional<std::string> text, json reason, bool role, const TokenEvent* ev) -> json {
    if (role) return nullptr;
    const json lp = want_logprobs && ev ? completion_logprobs({*ev}, *m.tokenizer) : json(nullptr);
    return {{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", m.id},
            {"choices", json::array({{{"index", i}, {"text", text.value_or("")}, {"logprobs", lp}, {"finish_reason", reason}}})}};
  };
  auto finish = [=, &m](size_t i, const GenerationResult& r) -> json {
    return {{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", m.id},
            {"choices", json::array({{{"index", i}, {"text", ""}, {"logprobs", nullptr},
                                      {"finish_reason", r.reason == FinishReason::Stop ? "stop" : "length"}}})}};
  };
  auto usage = [=, &m](json u) -> json {
    return {{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", m.id}, {"choices", json::array()}, {"usage", u}};
  };
  stream_sse(res, ctx, streams, chunk, finish, spec.include_usage, usage);
}

// The brief's simple API: {"prompt": "...", "max_tokens": N} -> {"response": "..."}.
void handle_generate(RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req.body);
  ServedModel& m = ctx.model_for(body);
  if (m.upstream) return forward_to_upstream(ctx, m, req, res, body);  // served by other engines
  CompletionSpec spec;
  parse_sampling(body, spec, ctx);
  if (spec.stream || spec.n != 1) throw invalid_field(spec.stream ? "stream" : "n", "is not supported by /generate");
  const std::string prompt = required_string(body, "prompt");
  note_input_text(prompt);
  // "images": [base64, ...]: each where the prompt says <image>, else before the text.
  // "dicom": {window, frame, attributes} for the DICOM ones among them.
  std::vector<ImageRef> refs;
  const DicomOptions dicom = parse_dicom_options(body.value("dicom", json()), "dicom");
  if (auto it = body.find("images"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) throw invalid_field("images", "must be an array of base64 strings");
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string field = "images[" + std::to_string(i) + "]";
      if (!(*it)[i].is_string()) throw invalid_field(field, "must be a base64 string");
      refs.push_back({(*it)[i].get<std::string>(), field, dicom});
    }
  }
  const std::vector<Image> images = decode_images(m, refs);
  if (images.empty()) spec.base.prompt = m.tokenizer->encode(model_input_text(prompt), true);
  else encode_prompt_with_images(m, model_input_text(prompt), images, false, spec.base, "prompt");
  auto streams = submit_all(m, spec, "prompt");
  reply_when_done(res, ctx, streams, [&m](const std::vector<Choice>& collected) -> json {
    const Choice& c = collected[0];
    return {{"response", c.text}, {"model", m.id}, {"finish_reason", finish_reason(c.result)},
            {"usage", usage_json(c.result.prompt_tokens, c.result.completion_tokens, c.result.cached_prompt_tokens)}};
  });
}

}  // namespace

void register_completion_routes(httplib::Server& http, RouteContext& ctx) {
  http.Post("/v1/chat/completions", counted(ctx, handle_chat));
  http.Post("/v1/completions", counted(ctx, handle_completions));
  http.Post("/generate", counted(ctx, handle_generate));
}

}  // namespace citadel
