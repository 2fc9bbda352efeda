#include "server/upstream_forward.h"

#include <httplib.h>

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>

#include "gateway/digest.h"
#include "gateway/gateway.h"
#include "gateway/pii_redactor.h"
#include "server/access_control.h"
#include "server/api_error.h"
#include "server/metrics_routes.h"
#include "server/route_context.h"
#include "server/served_model.h"

namespace citadel {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// One exchange with one upstream, run on its own thread: the handler waits for the status line
// (or a failure) before it commits to an answer, then reads the body as it arrives.
constexpr size_t kMaxQueued = 8 << 20;      // bytes read ahead of a slow client
constexpr size_t kMaxBody = 64 << 20;       // a whole (non-streamed) answer
constexpr size_t kMaxEventBytes = 16 << 20;  // one server-sent event

struct Exchange {
  std::mutex mu;
  std::condition_variable cv;
  bool got_status = false, done = false;
  int status = 0;
  std::string content_type;
  std::deque<std::string> chunks;
  size_t queued = 0;
  httplib::Error error = httplib::Error::Success;
  std::atomic<bool> cancel{false};
  std::thread thread;

  ~Exchange() {
    stop();
    if (thread.joinable()) thread.join();
  }

  void start(const Upstream& u, const UpstreamModel& um, const std::string& path, std::string body,
             const httplib::Headers& headers) {
    thread = std::thread([this, &u, &um, path, body = std::move(body), headers] {
      auto client = upstream_client(u, um.pool->options(), um.read_timeout);
      httplib::Request r;
      r.method = "POST";
      r.path = u.path_prefix + path;
      r.headers = headers;
      r.body = body;
      r.response_handler = [this](const httplib::Response& res) {
        std::lock_guard<std::mutex> lock(mu);
        got_status = true;
        status = res.status;
        content_type = res.get_header_value("Content-Type");
        cv.notify_all();
        return !cancel;
      };
      r.content_receiver = [this](const char* data, size_t n, uint64_t, uint64_t) {
        std::unique_lock<std::mutex> lock(mu);
        // Back-pressure: a fast upstream waits for a slow client instead of filling memory.
        cv.wait(lock, [&] { return queued < kMaxQueued || cancel; });
        chunks.emplace_back(data, n);
        queued += n;
        cv.notify_all();
        return !cancel;
      };
      const httplib::Result result = client->send(r);
      std::lock_guard<std::mutex> lock(mu);
      error = result.error();
      done = true;
      cv.notify_all();
    });
  }

  // Waits for the status line; false when the exchange ended without one (could not connect).
  bool wait_status() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return got_status || done; });
    return got_status;
  }

  // The next piece of the body (true), or the end (false; `error` tells how it ended).
  std::optional<bool> next(std::string& out, std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, wait, [&] { return !chunks.empty() || done; })) return std::nullopt;
    if (chunks.empty()) return false;
    out = std::move(chunks.front());
    chunks.pop_front();
    queued -= out.size();
    cv.notify_all();
    return true;
  }

  void stop() {
    cancel = true;
    cv.notify_all();
  }
};

std::string read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read upstream_api_key_file '" + path + "'");
  std::string s((std::istreambuf_iterator<char>(in)), {});
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The message and prompt texts of a body, redacted for the model when the policy says so and
// noted for the audit trail.
void gate_texts(json& body) {
  auto gate = [](json& text) {
    if (!text.is_string()) return;
    note_input_text(text.get<std::string>());
    text = model_input_text(text.get<std::string>());
  };
  if (auto m = body.find("messages"); m != body.end() && m->is_array())
    for (json& msg : *m) {
      if (!msg.is_object() || !msg.contains("content")) continue;
      json& c = msg["content"];
      if (c.is_array()) {
        for (json& part : c)
          if (part.is_object() && part.contains("text")) gate(part["text"]);
      } else {
        gate(c);
      }
    }
  if (auto p = body.find("prompt"); p != body.end()) {
    if (p->is_array()) {
      for (json& item : *p) gate(item);
    } else {
      gate(*p);
    }
  }
}

// The texts of an OpenAI answer object (choices' message content or text), put through `f`.
template <typename F>
void each_answer_text(json& answer, F f) {
  if (auto cs = answer.find("choices"); cs != answer.end() && cs->is_array())
    for (json& c : *cs) {
      if (!c.is_object()) continue;
      const size_t index = c.value("index", size_t{0});
      for (json* text : {c.contains("message") && c["message"].is_object() ? &c["message"]["content"] : nullptr,
                         c.contains("delta") && c["delta"].is_object() ? &c["delta"]["content"] : nullptr,
                         c.contains("text") ? &c["text"] : nullptr})
        if (text && text->is_string()) *text = f(index, text->get<std::string>());
    }
}

void take_usage(const json& j) {
  auto u = j.find("usage");
  if (u == j.end() || !u->is_object()) return;
  RequestScope& s = current_request();
  s.prompt_tokens = u->value("prompt_tokens", int64_t{0});
  s.completion_tokens = u->value("completion_tokens", int64_t{0});
}

// The request's affinity key: the start every turn of one conversation shares.
std::string prefix_key(const json& body) {
  if (auto m = body.find("messages"); m != body.end() && m->is_array()) {
    json head = json::array();
    for (size_t i = 0; i < m->size() && i < 2; ++i) head.push_back((*m)[i]);
    return head.dump();
  }
  if (auto p = body.find("prompt"); p != body.end() && p->is_string()) return p->get<std::string>().substr(0, 256);
  return "";
}

bool reproducible(const json& body) {
  const bool greedy = body.contains("temperature") && body["temperature"].is_number() && body["temperature"].get<double>() == 0;
  return greedy || (body.contains("seed") && !body["seed"].is_null());
}

// /generate in, /v1/completions out.
json generate_as_completion(const json& body) {
  json out = body;
  out.erase("stream");
  out["stream"] = false;
  return out;
}

json completion_as_generate(const json& answer, const std::string& model) {
  json r = {{"model", model}, {"response", ""}, {"finish_reason", "stop"}};
  if (answer.contains("choices") && answer["choices"].is_array() && !answer["choices"].empty()) {
    const json& c = answer["choices"][0];
    r["response"] = c.value("text", "");
    if (c.contains("finish_reason") && c["finish_reason"].is_string()) r["finish_reason"] = c["finish_reason"];
  }
  if (answer.contains("usage")) r["usage"] = answer["usage"];
  return r;
}

void count(const ServedModel& m, const Upstream& u, const char* outcome) {
  server_metrics().counter_add("citadel_upstream_requests_total", {{"model", m.id}, {"upstream", u.origin}, {"outcome", outcome}});
}

// The events of a streamed answer on their way to the client.
struct StreamRelay {
  std::shared_ptr<PiiRedactor> redactor;
  bool restore = false, client_wants_usage = false;
  bool keep_texts = false;  // the audit keeps answer texts (RequestScope::keep_texts)
  bool finished = false;   // [DONE] seen
  bool overflowed = false;  // the stream outgrew kMaxBody: neither cached nor kept whole for the audit
  std::string buffer, raw;  // raw: the events as the upstream sent them (what the cache keeps)
  std::map<size_t, std::unique_ptr<PiiStreamRestorer>> restorers;
  std::map<size_t, std::string> texts;

  // False when the stream is garbled (an event too long, a data line that is not JSON) or the
  // client is gone.
  bool feed(const std::string& piece, httplib::DataSink& sink) {
    if (raw.size() + piece.size() <= kMaxBody) {
      raw += piece;
    } else {
      overflowed = true;  // too long to keep for the cache: it is passed on all the same
    }
    buffer += piece;
    size_t cut;
    while ((cut = buffer.find("\n\n")) != std::string::npos) {
      std::string event = buffer.substr(0, cut + 2);
      buffer.erase(0, cut + 2);
      if (event.rfind("data: [DONE]", 0) == 0) {
        finished = true;
        for (auto& [i, r] : restorers) {  // what a restorer still holds goes out before the end
          const std::string tail = r->finish();
          if (!tail.empty() && !write(sink, "data: " + json{{"choices", {{{"index", i}, {"delta", {{"content", tail}}}}}}}.dump() + "\n\n"))
            return false;
        }
      } else if (event.rfind("data: ", 0) == 0 && !restore && !keep_texts && event.find("\"usage\"") == std::string::npos) {
        // Nothing to restore, keep or count in this event: passed on as it came (no JSON work).
      } else if (event.rfind("data: ", 0) == 0) {
        json j = json::parse(event.substr(6), nullptr, false);
        if (j.is_discarded()) return false;
        take_usage(j);
        const bool usage_only = j.contains("usage") && j["usage"].is_object() && j.contains("choices") &&
                                j["choices"].is_array() && j["choices"].empty();
        if (usage_only && !client_wants_usage) continue;
        each_answer_text(j, [&](size_t i, const std::string& t) {
          if (texts[i].size() < kMaxBody) texts[i] += t;
          if (!restore) return t;
          auto& r = restorers[i];
          if (!r) r = std::make_unique<PiiStreamRestorer>(*redactor);
          return r->push(t);
        });
        event = "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
      }
      if (!write(sink, event)) return false;
    }
    return buffer.size() <= kMaxEventBytes;
  }

  // The end: an error event when `error` is set, then the chunked body closes.
  void end(httplib::DataSink& sink, const std::string& error) {
    for (const auto& [i, t] : texts) note_output_text(t);
    if (!error.empty()) write(sink, "data: " + ApiError(502, error, "", "upstream_error").body().dump() + "\n\n");
    sink.done();
  }

  static bool write(httplib::DataSink& sink, const std::string& s) { return sink.write(s.data(), s.size()); }
};

}  // namespace

bool forwardable_path(const std::string& path) {
  return path == "/v1/chat/completions" || path == "/v1/completions" || path == "/v1/embeddings" || path == "/generate";
}

std::shared_ptr<UpstreamModel> make_upstream_model(const ModelConfig& mc) {
  auto um = std::make_shared<UpstreamModel>();
  UpstreamOptions o;
  o.urls = mc.upstreams;
  o.discover_dns = mc.discover == "dns";
  o.prefix_affinity = mc.affinity != "least-outstanding";
  o.connect_timeout = mc.connect_timeout;
  o.health_path = mc.health_path;
  o.probe_interval = mc.probe_interval;
  o.tls_ca = mc.upstream_tls_ca, o.tls_cert = mc.upstream_tls_cert, o.tls_key = mc.upstream_tls_key;
  um->pool = std::make_unique<UpstreamPool>(o);
  um->model = mc.upstream_model.empty() ? mc.id : mc.upstream_model;
  um->read_timeout = mc.read_timeout;
  if (!mc.upstream_api_key_file.empty()) um->api_key = read_secret_file(mc.upstream_api_key_file);
  if (!mc.upstream_api_key_env.empty()) {
    const char* v = std::getenv(mc.upstream_api_key_env.c_str());
    if (!v || !*v) throw std::runtime_error("upstream_api_key_env: $" + mc.upstream_api_key_env + " is not set");
    um->api_key = v;
  }
  return um;
}

void forward_to_upstream(RouteContext& ctx, ServedModel& m, const httplib::Request& req, httplib::Response& res,
                         const json& client_body) {
  UpstreamModel& um = *m.upstream;
  RequestScope& s = current_request();
  const bool generate = req.path == "/generate";
  const bool embeddings = req.path == "/v1/embeddings";
  json body = generate ? generate_as_completion(client_body) : client_body;
  body["model"] = um.model;
  const bool stream = !embeddings && body.value("stream", false) == true;
  if (generate && client_body.value("stream", false) == true) throw invalid_field("stream", "is not supported by /generate");
  if (!embeddings) gate_texts(body);
  bool client_wants_usage = false;
  if (stream) {
    client_wants_usage = body.contains("stream_options") && body["stream_options"].is_object() &&
                         body["stream_options"].value("include_usage", false);
    body["stream_options"] = {{"include_usage", true}};  // for quotas and the audit, whatever the client asked
  }
  const std::string path = generate ? "/v1/completions" : req.path;
  const std::string payload = body.dump(-1, ' ', false, json::error_handler_t::replace);

  // The response cache: reproducible answers, keyed on what is sent (after redaction).
  Gateway* g = s.gateway;
  std::string cache_key;
  const bool no_cache = req.get_header_value("Cache-Control").find("no-cache") != std::string::npos;
  const bool raw_pii = s.pii_policy == PiiPolicy::LogOnly && s.redactor && s.redactor->placeholders() > 0;
  if (g && g->cache() && !embeddings) {
    if (no_cache || raw_pii) {
      s.cache = "bypass";
    } else if (reproducible(body) || g->options().cache_sampled) {
      std::string reach = "*";
      if (s.caller && !s.caller->models.empty()) reach = json(s.caller->models).dump();
      cache_key = sha256_hex(json{{"upstream", m.id}, {"path", path}, {"reach", reach}, {"body", body}}.dump());
      if (auto hit = g->cache()->get(cache_key)) {
        const json stored = json::parse(*hit, nullptr, false);
        if (!stored.is_discarded() && stored.value("v", "") == "upstream-1") {
          s.cache = "hit";
          server_metrics().counter_add("citadel_response_cache_hits_total", {{"model", m.id}});
          res.set_header("X-Citadel-Cache", "hit");
          std::string text = stored["body"].get<std::string>();
          if (stream) {  // the stored events, through the same relay as a live stream
            auto redactor = s.redactor;
            const bool restore = redactor && pii_restores_output(s.pii_policy);
            const bool keep_texts = s.keep_texts;
            res.set_chunked_content_provider("text/event-stream", [text, redactor, restore, client_wants_usage, keep_texts](size_t, httplib::DataSink& sink) {
              StreamRelay relay{redactor, restore, client_wants_usage, keep_texts};
              if (!relay.feed(text, sink)) return false;
              relay.end(sink, "");
              return true;
            });
            return;
          }
          {
            json answer = json::parse(text, nullptr, false);
            if (!answer.is_discarded()) {
              take_usage(answer);
              if (s.redactor && pii_restores_output(s.pii_policy))
                each_answer_text(answer, [&](size_t, const std::string& t) { return s.redactor->restore(t); });
              text = (generate ? completion_as_generate(answer, m.id) : answer).dump(-1, ' ', false, json::error_handler_t::replace);
            }
          }
          res.status = 200;
          res.set_content(text, stream ? "text/event-stream" : "application/json");
          return;
        }
      }
      s.cache = "miss";
      server_metrics().counter_add("citadel_response_cache_misses_total", {{"model", m.id}});
    }
    if (!s.cache.empty()) res.set_header("X-Citadel-Cache", s.cache);
  }

  httplib::Headers headers = {{"Content-Type", "application/json"}, {"X-Request-Id", s.id}};
  if (!um.api_key.empty()) headers.emplace("Authorization", "Bearer " + um.api_key);
  if (stream) headers.emplace("Accept", "text/event-stream");

  // Upstreams in the pool's order until one answers with a status line.
  int64_t retry_after = 1;
  std::shared_ptr<Exchange> ex;
  std::shared_ptr<Upstream> used;
  for (const auto& u : um.pool->choose(prefix_key(body), &retry_after)) {
    auto attempt = std::make_shared<Exchange>();
    um.pool->begin(*u);
    attempt->start(*u, um, path, payload, headers);
    if (!attempt->wait_status()) {  // no connection, or it broke before the status line
      um.pool->failed(*u);
      count(m, *u, "connect_failed");
      continue;
    }
    if (attempt->status == 503) {  // busy (a full queue): another may take it
      attempt->stop();
      um.pool->ok(*u);
      count(m, *u, "busy");
      continue;
    }
    ex = attempt;
    used = u;
    break;
  }
  if (!ex) {
    throw ApiError(503, "no upstream of the model '" + m.id + "' is available", "", "upstreams_unavailable")
        .with_retry_after(retry_after);
  }

  if (!stream || ex->status != 200) {  // the whole answer, then one reply
    std::string text, piece;
    bool too_big = false;
    for (;;) {
      const auto got = ex->next(piece, std::chrono::milliseconds(100));
      if (!got) continue;  // nothing yet: the upstream's read timeout bounds the wait
      if (!*got) break;
      text += piece;
      if (text.size() > kMaxBody) {
        too_big = true;
        ex->stop();
        break;
      }
    }
    if (too_big) {
      um.pool->ok(*used);
      count(m, *used, "too_large");
      throw ApiError(502, "the upstream " + used->origin + " sent an answer larger than " + std::to_string(kMaxBody >> 20) + " MiB",
                     "", "upstream_error");
    }
    const bool broken = ex->error != httplib::Error::Success;
    broken ? um.pool->failed(*used) : um.pool->ok(*used);
    count(m, *used, broken ? "broken" : "ok");
    if (broken) throw ApiError(502, "the upstream " + used->origin + " broke off its answer", "", "upstream_error");
    json answer = json::parse(text, nullptr, false);
    if (answer.is_discarded()) {
      if (ex->status == 200) throw ApiError(502, "the upstream " + used->origin + " answered with something that is not JSON", "", "upstream_error");
      res.status = ex->status;  // an upstream's own error body, passed on
      res.set_content(text, ex->content_type.empty() ? "text/plain" : ex->content_type);
      return;
    }
    take_usage(answer);
    if (ex->status == 200 && !cache_key.empty()) g->cache()->put(cache_key, json{{"v", "upstream-1"}, {"body", text}}.dump());
    if (!embeddings) each_answer_text(answer, [&](size_t, const std::string& t) {
      note_output_text(t);
      return s.redactor && pii_restores_output(s.pii_policy) ? s.redactor->restore(t) : t;
    });
    res.status = ex->status;
    res.set_content((generate && ex->status == 200 ? completion_as_generate(answer, m.id) : answer)
                        .dump(-1, ' ', false, json::error_handler_t::replace),
                    "application/json");
    return;
  }

  // Streamed: events pass as they come (the source: the upstream, or the cache's copy of what an
  // upstream sent); the usage chunk the client did not ask for is dropped, texts are restored
  // under redact-input, and a cut or garbled stream ends with an error event.
  ++ctx.in_flight;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto redactor = s.redactor;
  const bool restore = redactor && pii_restores_output(s.pii_policy);
  const bool keep_texts = s.keep_texts;
  res.set_chunked_content_provider(
      "text/event-stream",
      [ex, used, &um, &m, g, cache_key, redactor, restore, client_wants_usage, keep_texts](size_t, httplib::DataSink& sink) {
        StreamRelay relay{redactor, restore, client_wants_usage, keep_texts};
        std::string piece;
        bool sent = true;
        for (;;) {
          const auto got = ex->next(piece, std::chrono::milliseconds(200));
          if (!got) {
            if (!sink.is_writable()) return false;  // the client went away: the releaser cancels
            continue;
          }
          if (!*got) break;
          if (!relay.feed(piece, sink)) {
            sent = false;
            ex->stop();
            break;
          }
        }
        if (!sent && !sink.is_writable()) return false;
        const bool broken = !sent || ex->error != httplib::Error::Success || !relay.finished;
        broken ? um.pool->failed(*used) : um.pool->ok(*used);
        count(m, *used, broken ? "broken" : "ok");
        relay.end(sink, broken ? "the upstream " + used->origin + " broke off the stream" : "");
        if (!broken && !relay.overflowed && !cache_key.empty()) g->cache()->put(cache_key, json{{"v", "upstream-1"}, {"body", relay.raw}}.dump());
        return true;
      },
      [&ctx, ex](bool) {
        ex->stop();
        --ctx.in_flight;
      });
}

}  // namespace citadel
