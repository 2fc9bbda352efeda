// Connections to one Redis server (hiredis), shared by the response cache and the rate limits: a
// small pool (one connection per concurrent caller), a connect and command timeout, and an Outage
// (gateway/outage.h): after a failure the server is not tried for a second, so a dead Redis
// costs one failed connect per second instead of a timeout per request, and is logged once.
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/outage.h"

struct redisContext;
struct redisReply;

namespace citadel {

struct RedisAddress {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string url() const;  // redis://HOST:PORT/DB
};

// "redis://HOST[:PORT][/DB]"; throws std::invalid_argument naming `what` ("cache", "redis_url").
RedisAddress parse_redis_url(const std::string& url, const std::string& what);

class RedisPool {
 public:
  // role: what the server is used for, in the outage log lines; consequence: what callers see.
  RedisPool(RedisAddress address, int64_t timeout_ms, const std::string& role, const std::string& consequence);
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // Runs one command; on_reply sees the reply, error replies (REDIS_REPLY_ERROR) included. False
  // when no reply came (unreachable, timed out, down for the second after a failure): *why says
  // what happened, and the outage is logged.
  bool run(const std::vector<std::string>& args, const std::function<void(redisReply*)>& on_reply,
           std::string* why = nullptr);
  // A failure the caller saw in a reply (an error it cannot use): counts as an outage.
  void failed(const std::string& why) { outage_.failed(why); }
  bool available() const { return !outage_.down(); }
  const RedisAddress& address() const { return address_; }

 private:
  redisContext* checkout(std::string* why);
  void checkin(redisContext* c);
  RedisAddress address_;
  int64_t timeout_ms_;
  Outage outage_;
  std::mutex mu_;
  std::vector<redisContext*> idle_;
};

}  // namespace citadel
