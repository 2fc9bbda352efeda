#include "server/http_server.h"

#include <httplib.h>

#include <sys/socket.h>

#include <cstdio>

#include "gateway/gateway.h"
#include "gateway/outage.h"
#include "server/access_control.h"
#include "server/api_error.h"
#include "server/metrics_routes.h"
#include "server/route_context.h"
#include "server/tls_context.h"

namespace citadel {

ServedModel& RouteContext::model_for(const nlohmann::json& body) const {
  if (!ready) throw ApiError(503, "the models are still loading", "", "loading");
  auto it = body.find("model");
  if (it == body.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty())) {
    current_request().model = models.front()->id;
    admit_to_model(*this, models.front()->id);
    return *models.front();
  }
  if (!it->is_string()) throw invalid_field("model", "must be a string");
  const std::string id = it->get<std::string>();
  for (const auto& m : models) {
    if (m->id != id) continue;
    current_request().model = m->id;  // the metrics and log label
    admit_to_model(*this, m->id);
    return *m;
  }
  // "<model>:<adapter>": one of the model's LoRA adapters (a key may use it when it may use the model).
  const size_t colon = id.rfind(':');
  for (const auto& m : models) {
    if (colon == std::string::npos || m->id != id.substr(0, colon)) continue;
    const std::string name = id.substr(colon + 1);
    if (!m->adapters)  // forwarded to upstream engines: adapters live there, under their own model ids
      throw ApiError(404, "the model '" + m->id + "' is forwarded to other engines and has no adapters here: ask for '" +
                     m->id + "', or for the adapter by the model id its engine lists", "model", "model_not_found");
    auto adapter = m->adapters->find(name);
    if (!adapter)
      throw ApiError(404, "the model '" + m->id + "' has no adapter '" + name + "' (GET /v1/models lists them)", "model",
                     "model_not_found");
    RequestScope& s = current_request();
    s.model = m->id;
    s.adapter = name;
    s.lora = adapter->stack;
    admit_to_model(*this, m->id);
    return *m;
  }
  throw ApiError(404, "the model '" + id + "' does not exist", "model", "model_not_found");
}

namespace {

// HTTPS when the config names a certificate: httplib's context only switches each handshake to
// the TlsContexts' current one (server/tls_context.h).
std::unique_ptr<httplib::Server> make_http(TlsContexts* tls) {
  if (!tls) return std::make_unique<httplib::Server>();
  auto https = std::make_unique<httplib::SSLServer>([tls](SSL_CTX& ctx) { return tls->install(ctx); });
  if (!https->is_valid()) throw std::runtime_error("cannot set up the TLS server");
  return https;
}

std::unique_ptr<TlsContexts> make_tls(const ServerConfig& c) {
  if (c.tls_cert.empty()) return nullptr;
  return std::make_unique<TlsContexts>(TlsSettings{c.tls_cert, c.tls_key, c.tls_client_ca, c.tls_min_version});
}

}  // namespace

HttpServer::HttpServer(ServerConfig config)
    : config_(std::move(config)),
      tls_(make_tls(config_)),
      http_(make_http(tls_.get())),
      ctx_(std::make_unique<RouteContext>(config_)) {
  const int n_threads = config_.http_threads;
  http_->new_task_queue = [n_threads] { return new httplib::ThreadPool(n_threads); };
  http_->set_payload_max_length(config_.max_body_bytes);
  http_->set_read_timeout(30, 0);
  http_->set_write_timeout(30, 0);
  http_->set_keep_alive_max_count(1000);
  // No Nagle: a chunked answer is several small writes, and Nagle held each one back until the
  // client's delayed ACK (40 ms a request).
  http_->set_tcp_nodelay(true);
  http_->set_socket_options([this](int sock) {
    httplib::default_socket_options(sock);
    listen_socket_ = sock;
  });
  if (gateway_wanted(config_)) {
    gateway_ = std::make_unique<Gateway>(gateway_options(config_));
    ctx_->gateway = gateway_.get();
  }
  register_routes();
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::register_routes() {
  RouteContext& ctx = *ctx_;
  // Every handler's ApiError (and anything unexpected) becomes an error object in the shape of
  // the route's API (OpenAI, Anthropic or Ollama: api_error.h).
  http_->set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const ApiError& e) {
      send_error(res, req.path, e);
    } catch (const BackendUnavailable&) {  // the admin API while PostgreSQL is down
      send_error(res, req.path,
                 ApiError(503, kBackendUnavailableMessage, "", "backend_unavailable").with_retry_after(1));
    } catch (const std::exception& e) {
      send_error(res, req.path, ApiError(500, e.what()));
    }
  });
  // Statuses httplib produces itself (404 route, 413 body too large, 400 bad request line).
  http_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = "error " + std::to_string(res.status);
    if (res.status == 404) message = "no route " + req.method + " " + req.path;
    if (res.status == 413) message = "the request body is larger than the server accepts";
    if (res.status == 405) message = "method not allowed";
    send_error(res, req.path, ApiError(res.status, message));
  });
  // Every answered request is counted, timed and (with --log-format json) logged under its request id.
  http_->set_logger([&ctx](const httplib::Request& req, const httplib::Response& res) { end_request(ctx, req, res); });
  http_->set_pre_routing_handler([&ctx](const httplib::Request& req, httplib::Response& res) {
    begin_request(req, res);
    if (ctx.draining && req.method == "POST") {
      send_error(res, req.path, ApiError(503, "the server is shutting down", "", "shutting_down").with_retry_after(5));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!pass_gateway(ctx, req, res)) return httplib::Server::HandlerResponse::Handled;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  register_completion_routes(*http_, ctx);
  register_utility_routes(*http_, ctx);
  register_anthropic_routes(*http_, ctx);
  register_responses_routes(*http_, ctx);
  register_ollama_routes(*http_, ctx);
  register_admin_routes(*http_, ctx);
  register_adapter_routes(*http_, ctx);
  register_metrics_routes(*http_, ctx);
}

void HttpServer::bind() {
  if (config_.port == 0) {
    port_ = http_->bind_to_any_port(config_.host.c_str());
    if (port_ <= 0) throw std::runtime_error("cannot bind " + config_.host);
  } else {
    if (!http_->bind_to_port(config_.host.c_str(), config_.port))
      throw std::runtime_error("cannot bind " + config_.host + ":" + std::to_string(config_.port) +
                               " (in use, or not permitted)");
    port_ = config_.port;
  }
  // httplib listens with a backlog of 5: 16 clients connecting at once lost SYNs past it and
  // retried them a second later (a 1 s time to first token). Listening again on the bound
  // socket raises the queue (to net.core.somaxconn).
  int listening = 0;
  socklen_t len = sizeof listening;
  if (listen_socket_ >= 0 && ::getsockopt(listen_socket_, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening)
    ::listen(listen_socket_, SOMAXCONN);
}

void HttpServer::load_models() {
  for (const auto& mc : config_.models) ctx_->models.push_back(ServedModel::load(mc, config_));
  ctx_->ready = true;
}

// httplib's stop() does nothing until listening has begun, so a stop() racing the start of
// serve() (a model that fails to load at once) would leave serve() running for ever: whichever
// of the two comes second sees the other's flag.
void HttpServer::serve() {
  serving_ = true;
  if (!stop_requested_) http_->listen_after_bind();
  serving_ = false;
}

std::string HttpServer::tls_description() const { return tls_ ? tls_->describe() : ""; }

std::string HttpServer::reload_tls() {
  if (!tls_) throw std::runtime_error("TLS is off: nothing to reload");
  return tls_->reload();
}

void HttpServer::drain_and_stop() {
  ctx_->draining = true;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(config_.drain_timeout * 1000));
  for (auto& m : ctx_->models) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (m->engine) m->engine->drain(std::max(left, std::chrono::milliseconds(0)));  // upstream models: in_flight below
  }
  // Let handlers finish writing their last bytes.
  while (ctx_->in_flight > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop();
}

void HttpServer::stop() {
  if (!http_) return;
  stop_requested_ = true;
  for (int i = 0; i < 2000 && serving_ && !http_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  http_->stop();
}

}  // namespace citadel
