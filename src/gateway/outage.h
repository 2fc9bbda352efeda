// A shared backend (the PostgreSQL key database, Redis) that cannot be reached. Its stores throw
// BackendUnavailable, which the gateway answers with 503 and a Retry-After, never a crash. Outage
// keeps one backend's state: after a failure it is "down" for a second (callers fail at once
// instead of each waiting for a connect timeout), and it logs one line when an outage begins and
// one when it ends, never one per request.
#pragma once
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>

namespace citadel {

class BackendUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Outage {
 public:
  // what: "rate limits redis://127.0.0.1:6379/0"; consequence: what callers see meanwhile.
  Outage(std::string what, std::string consequence) : what_(std::move(what)), consequence_(std::move(consequence)) {}
  // False during the second after a failure: do not try the backend now.
  bool may_try() const;
  // A failure: starts (and logs) an outage unless one is on.
  void failed(const std::string& why);
  // A success: ends (and logs the end of) an outage.
  void succeeded();
  bool down() const;
  const std::string& what() const { return what_; }

 private:
  std::string what_, consequence_;
  mutable std::mutex mu_;
  bool down_ = false;
  std::chrono::steady_clock::time_point retry_at_;
};

}  // namespace citadel
