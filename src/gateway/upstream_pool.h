// The engines behind one gateway model (upstreams: other Citadels, vLLM, TGI, llama-server) and
// which of them takes the next request. Balancing: rendezvous hashing of the request's prefix key
// (the same conversation or system prompt goes to the same engine, whose prefix cache then
// keeps working) with a load bound (an engine already carrying more than 1.25x the mean of
// outstanding requests is passed over), or plain least-outstanding. Health: a failed connect
// marks an upstream down for a backoff that doubles up to 30 s (passive); a probe thread asks
// every upstream's health path every few seconds and brings it back (active). With
// `discover_dns`, each URL's host is resolved again every 10 s and every address it has is an
// upstream (a Kubernetes headless Service: the engine pods).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Client;
}

namespace citadel {

struct UpstreamOptions {
  std::vector<std::string> urls;     // http[s]://host[:port] (a path prefix is kept, e.g. /vllm)
  bool discover_dns = false;
  bool prefix_affinity = true;       // false: least outstanding only
  double connect_timeout = 2;        // seconds
  std::string health_path = "/health";
  double probe_interval = 5;         // seconds between active checks (0: none)
  // TLS to https upstreams: the CA to trust (empty: the system's), and a client certificate (mTLS).
  std::string tls_ca, tls_cert, tls_key;
};

// One upstream: where it is and how it fares.
struct Upstream {
  std::string scheme, host, path_prefix;  // host as the URL names it (TLS and Host header use it)
  std::string address;                     // the address to connect to when discovered by DNS ("" : host)
  int port = 80;
  std::string origin;                      // "http://10.0.0.7:8080", for logs and metrics labels
  std::atomic<int64_t> outstanding{0};
  std::atomic<int64_t> requests{0}, failures{0};
  // Guarded by the pool's mutex.
  bool healthy = true;
  int backoff_level = 0;
  std::chrono::steady_clock::time_point retry_at{};
};

class UpstreamPool {
 public:
  // Parses the URLs (std::invalid_argument naming a bad one), resolves them when discovering,
  // and starts the probe thread.
  explicit UpstreamPool(UpstreamOptions options);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // The healthy upstreams in the order to try them for a request with this prefix key ("" : no
  // affinity). Empty when all are down; then *retry_after is the seconds until one may be back.
  std::vector<std::shared_ptr<Upstream>> choose(const std::string& prefix_key, int64_t* retry_after);
  // The request's life on an upstream: begin() before sending, then one of ok() / failed().
  void begin(Upstream& u) { ++u.outstanding, ++u.requests; }
  void ok(Upstream& u);
  void failed(Upstream& u);  // could not connect or the connection broke: down for a while

  std::vector<std::shared_ptr<Upstream>> all() const;
  std::vector<std::pair<std::string, bool>> health() const;  // origin, healthy
  const UpstreamOptions& options() const { return opt_; }
  // Checks every upstream now (the probe thread's work; tests call it directly).
  void probe_all();

 private:
  void resolve();  // (re)builds targets_ from the URLs, keeping the state of known origins
  void probe_loop();

  UpstreamOptions opt_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Upstream>> targets_;
  std::chrono::steady_clock::time_point resolved_at_{};
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread prober_;
};

// An HTTP client for one upstream: its URL's scheme and host, connecting to its discovered address,
// with the pool's TLS settings and the given timeouts (seconds).
std::unique_ptr<httplib::Client> upstream_client(const Upstream& u, const UpstreamOptions& o, double read_timeout);

}  // namespace citadel
