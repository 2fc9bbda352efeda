#include "gateway/upstream_pool.h"

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>
#include <stdexcept>

namespace citadel {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kResolveEvery = std::chrono::seconds(10);
constexpr double kLoadBound = 1.25;  // consistent hashing with bounded loads (Mirrokni et al.)

struct ParsedUrl {
  std::string scheme, host, path;
  int port;
};

ParsedUrl parse_url(const std::string& url) {
  static const std::regex re(R"(^(https?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::([0-9]{1,5}))?(/[^?#]*)?$)");
  std::smatch m;
  if (!std::regex_match(url, m, re)) throw std::invalid_argument("upstream '" + url + "' is not http[s]://host[:port][/path]");
  ParsedUrl p;
  p.scheme = m[1];
  p.host = m[2];
  if (p.host.front() == '[') p.host = p.host.substr(1, p.host.size() - 2);
  p.port = m[3].matched ? std::stoi(m[3]) : (p.scheme == "https" ? 443 : 80);
  if (p.port <= 0 || p.port > 65535) throw std::invalid_argument("upstream '" + url + "': bad port");
  p.path = m[4].matched ? std::string(m[4]) : "";
  while (!p.path.empty() && p.path.back() == '/') p.path.pop_back();
  return p;
}

std::string bracket(const std::string& host) { return host.find(':') != std::string::npos ? "[" + host + "]" : host; }

std::vector<std::string> resolve_all(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::vector<std::string> out;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
  for (addrinfo* a = res; a; a = a->ai_next) {
    char buf[NI_MAXHOST];
    if (getnameinfo(a->ai_addr, a->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) == 0 &&
        std::find(out.begin(), out.end(), buf) == out.end())
      out.push_back(buf);
  }
  freeaddrinfo(res);
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t fnv1a(const std::string& a, const std::string& b) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : a) h = (h ^ c) * 1099511628211ull;
  h = (h ^ 0xff) * 1099511628211ull;
  for (unsigned char c : b) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 33;  // finalise: rendezvous scores must be well mixed
  h *= 0xff51afd7ed558ccdull;
  return h ^ (h >> 33);
}

}  // namespace

std::unique_ptr<httplib::Client> upstream_client(const Upstream& u, const UpstreamOptions& o, double read_timeout) {
  const std::string base = u.scheme + "://" + bracket(u.host) + ":" + std::to_string(u.port);
  auto c = o.tls_cert.empty() ? std::make_unique<httplib::Client>(base)
                              : std::make_unique<httplib::Client>(base, o.tls_cert, o.tls_key);
  if (!u.address.empty()) c->set_hostname_addr_map({{u.host, u.address}});
  if (u.scheme == "https") {
    if (!o.tls_ca.empty()) c->set_ca_cert_path(o.tls_ca);
    c->enable_server_certificate_verification(true);
  }
  const auto secs = [](double s) { return std::chrono::microseconds(static_cast<int64_t>(s * 1e6)); };
  c->set_connection_timeout(secs(o.connect_timeout));
  c->set_read_timeout(secs(read_timeout));
  c->set_write_timeout(secs(std::max(read_timeout, 5.0)));
  c->set_keep_alive(false);
  c->set_tcp_nodelay(true);
  return c;
}

UpstreamPool::UpstreamPool(UpstreamOptions options) : opt_(std::move(options)) {
  if (opt_.urls.empty()) throw std::invalid_argument("a model with upstreams needs at least one URL");
  for (const auto& url : opt_.urls) parse_url(url);  // throws on a bad one
  resolve();
  if (opt_.probe_interval > 0 || opt_.discover_dns) prober_ = std::thread([this] { probe_loop(); });
}

UpstreamPool::~UpstreamPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (prober_.joinable()) prober_.join();
}

void UpstreamPool::resolve() {
  std::vector<std::shared_ptr<Upstream>> next;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& url : opt_.urls) {
    const ParsedUrl p = parse_url(url);
    std::vector<std::string> addresses{""};
    if (opt_.discover_dns) {
      addresses = resolve_all(p.host);
      if (addresses.empty()) {  // DNS failed: keep what was known for this host
        for (const auto& t : targets_)
          if (t->host == p.host && t->port == p.port) next.push_back(t);
        continue;
      }
    }
    for (const auto& a : addresses) {
      const std::string origin = p.scheme + "://" + bracket(a.empty() ? p.host : a) + ":" + std::to_string(p.port);
      auto known = std::find_if(targets_.begin(), targets_.end(), [&](const auto& t) { return t->origin == origin; });
      if (known != targets_.end()) {
        next.push_back(*known);
        continue;
      }
      auto u = std::make_shared<Upstream>();
      u->scheme = p.scheme, u->host = p.host, u->path_prefix = p.path, u->address = a, u->port = p.port;
      u->origin = origin;
      next.push_back(u);
    }
  }
  targets_ = std::move(next);
  resolved_at_ = Clock::now();
}

std::vector<std::shared_ptr<Upstream>> UpstreamPool::choose(const std::string& prefix_key, int64_t* retry_after) {
  std::vector<std::shared_ptr<Upstream>> up;
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Clock::now();
  auto earliest = Clock::time_point::max();
  for (const auto& t : targets_) {
    if (!t->healthy && now >= t->retry_at) t->healthy = true;  // its backoff is over: give it a try
    if (t->healthy) up.push_back(t);
    else earliest = std::min(earliest, t->retry_at);
  }
  if (up.empty()) {
    const double wait = targets_.empty() ? 1.0 : std::chrono::duration<double>(earliest - now).count();
    *retry_after = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait)));
    return up;
  }
  if (opt_.prefix_affinity && !prefix_key.empty()) {
    // Rendezvous order for the key; an upstream over the load bound moves to the back.
    std::sort(up.begin(), up.end(), [&](const auto& a, const auto& b) {
      return fnv1a(prefix_key, a->origin) > fnv1a(prefix_key, b->origin);
    });
    int64_t total = 0;
    for (const auto& t : up) total += t->outstanding;
    const double bound = std::ceil(kLoadBound * static_cast<double>(total + 1) / static_cast<double>(up.size()));
    std::stable_partition(up.begin(), up.end(), [&](const auto& t) { return static_cast<double>(t->outstanding + 1) <= bound; });
  } else {
    std::sort(up.begin(), up.end(), [](const auto& a, const auto& b) {
      return a->outstanding != b->outstanding ? a->outstanding < b->outstanding : a->requests < b->requests;
    });
  }
  return up;
}

void UpstreamPool::ok(Upstream& u) {
  --u.outstanding;
  std::lock_guard<std::mutex> lock(mu_);
  u.backoff_level = 0;
}

void UpstreamPool::failed(Upstream& u) {
  --u.outstanding;
  ++u.failures;
  std::lock_guard<std::mutex> lock(mu_);
  if (u.healthy) std::fprintf(stderr, "citadel: upstream %s is down\n", u.origin.c_str());
  u.healthy = false;
  u.backoff_level = std::min(u.backoff_level + 1, 5);  // 1, 2, 4, 8, 16, 30 s
  u.retry_at = Clock::now() + std::chrono::seconds(std::min(30, 1 << (u.backoff_level - 1)));
}

std::vector<std::shared_ptr<Upstream>> UpstreamPool::all() const {
  std::lock_guard<std::mutex> lock(mu_);
  return targets_;
}

std::vector<std::pair<std::string, bool>> UpstreamPool::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& t : targets_) out.emplace_back(t->origin, t->healthy);
  return out;
}

void UpstreamPool::probe_all() {
  for (const auto& t : all()) {
    auto client = upstream_client(*t, opt_, std::max(1.0, opt_.connect_timeout));
    const auto res = client->Get(t->path_prefix + opt_.health_path);
    const bool up = res && res->status == 200;
    std::lock_guard<std::mutex> lock(mu_);
    if (up && !t->healthy) std::fprintf(stderr, "citadel: upstream %s is back\n", t->origin.c_str());
    if (up) {
      t->healthy = true;
      t->backoff_level = 0;
    } else {
      if (t->healthy) std::fprintf(stderr, "citadel: upstream %s fails its health check\n", t->origin.c_str());
      t->healthy = false;
      t->retry_at = Clock::now() + std::chrono::seconds(static_cast<int64_t>(std::max(1.0, opt_.probe_interval)));
    }
  }
}

void UpstreamPool::probe_loop() {
  const auto interval = std::chrono::milliseconds(static_cast<int64_t>(1000 * (opt_.probe_interval > 0 ? opt_.probe_interval : 10)));
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_cv_.wait_for(lock, interval, [&] { return stopping_; })) {
    const bool stale = opt_.discover_dns && Clock::now() - resolved_at_ >= kResolveEvery;
    lock.unlock();
    if (stale) resolve();
    if (opt_.probe_interval > 0) probe_all();
    lock.lock();
  }
}

}  // namespace citadel
