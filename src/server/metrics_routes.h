// The server's metrics: what each request records (hooks called from http_server and the
// completion routes), the scrape-time collectors (engine, process, GPU) and GET /metrics.
// Internal to server/. One process-wide registry: a process serves one HttpServer.
#pragma once
#include <chrono>
#include <string>

#include "server/metrics.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace citadel {

class RouteContext;
struct GenerationResult;

// What is known about the request this thread is serving (httplib serves a request, streaming
// included, on one thread from routing to the logger).
struct RequestScope {
  bool active = false;
  std::chrono::steady_clock::time_point start;
  std::string id;     // X-Request-Id: the client's, else a fresh one
  std::string model;  // set once a route resolved the model
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};
RequestScope& current_request();

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
