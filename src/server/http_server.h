// The HTTP front of Citadel: OpenAI-compatible routes, the simple /generate API, a chat page.
// Listens first and loads the models in the background, so /health can say "loading".
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/server_config.h"

namespace httplib {
class Server;
}

namespace citadel {

struct ServedModel;
class RouteContext;
class Gateway;
class TlsContexts;

class HttpServer {
 public:
  explicit HttpServer(ServerConfig config);
  ~HttpServer();

  // Binds the port (0 picks a free one); throws std::runtime_error if it cannot.
  void bind();
  int port() const { return port_; }
  // Loads every configured model (health turns ready when all are loaded); throws on a bad model.
  void load_models();
  // Serves until stop(); returns when the listener has closed.
  void serve();
  // Refuses new requests (503), lets running ones finish within drain_timeout, then stops.
  void drain_and_stop();
  void stop();
  // With TLS: one line about the certificate served; "" on plain HTTP.
  std::string tls_description() const;
  // Re-reads the TLS certificate, key and client CA for new connections (open ones keep theirs);
  // returns the log line, throws (keeping the old certificate) when a file is bad.
  std::string reload_tls();

 private:
  void register_routes();

  ServerConfig config_;
  std::unique_ptr<TlsContexts> tls_;  // before http_: an SSLServer's handshakes use it
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<RouteContext> ctx_;
  std::unique_ptr<Gateway> gateway_;  // keys, quotas, audit: null when none is configured
  int listen_socket_ = -1;  // the bound socket, as httplib's socket options callback saw it
  int port_ = 0;
  std::atomic<bool> serving_{false}, stop_requested_{false};  // see serve()
};

}  // namespace citadel
