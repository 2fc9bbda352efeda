// The server's metrics: what each request records (hooks called from http_server and the
// completion routes), the scrape-time collectors (engine, process, GPU) and GET /metrics.
// Internal to server/. One process-wide registry: a process serves one HttpServer.
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gateway/key_store.h"
#include "gateway/pii_policy.h"
#include "server/metrics.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace citadel {

class Gateway;
class PiiRedactor;
class RequestStream;
class RouteContext;
struct LoraStack;
struct GenerationResult;

// What is known about the request this thread is serving (httplib serves a request, streaming
// included, on one thread from routing to the logger).
struct RequestScope {
  bool active = false;
  std::chrono::steady_clock::time_point start;
  std::string id;     // X-Request-Id: the client's, else a fresh one
  std::string model;  // set once a route resolved the model
  std::string adapter;                     // the model's LoRA adapter the request named ("id:adapter"), if any
  std::shared_ptr<const LoraStack> lora;   // ... and its weights, for the engine
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  // The gateway's view (server/access_control.h).
  std::optional<KeyRecord> caller;  // the key that called, when keys are on
  int64_t quota_ticket = 0;         // the quota ledger's count of this request, settled at its end
  bool audited = false;             // this call gets an audit line
  std::string refusal;              // why the gateway refused it
  bool keep_texts = false;          // the audit keeps prompt and answer texts (or their HMACs)
  std::vector<std::string> inputs, outputs;
  PiiPolicy pii_policy = PiiPolicy::Off;   // set once the model is known
  std::shared_ptr<PiiRedactor> redactor;   // this request's placeholders (never stored)
  std::string cache;                       // "hit" / "miss" when the response cache was asked
  std::vector<std::pair<std::shared_ptr<RequestStream>, std::string>> cache_puts;  // misses to store at the end
  Gateway* gateway = nullptr;                 // the server's, when it has one
  const httplib::Request* request = nullptr;  // the request being served (headers)
  httplib::Response* response = nullptr;      // its response (headers not yet sent)
};
RequestScope& current_request();
// A prompt text (a message's content, a completion prompt) and an answer text of this request,
// kept for the audit trail when it asks for them (audit_content), else dropped at once.
void note_input_text(const std::string& text);
void note_output_text(const std::string& text);

MetricsRegistry& server_metrics();

// Pre-routing: starts the clock and assigns the request id (also set as a response header).
void begin_request(const httplib::Request& req, httplib::Response& res);
// After the response is written: counts and times it, and writes the JSON log line when enabled.
void end_request(const RouteContext& ctx, const httplib::Request& req, const httplib::Response& res);
// A finished generation (one choice): TTFT, TPOT, queue wait, per-request token counts.
void observe_generation(const GenerationResult& r);

// GET /metrics (behind `Authorization: Bearer <metrics_key>` when one is configured) and the collectors.
void register_metrics_routes(httplib::Server& http, RouteContext& ctx);

}  // namespace citadel
