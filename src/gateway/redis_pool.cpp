#include "gateway/redis_pool.h"

#include <hiredis/hiredis.h>

#include <stdexcept>

namespace citadel {

std::string RedisAddress::url() const {
  return "redis://" + host + ":" + std::to_string(port) + "/" + std::to_string(db);
}

RedisAddress parse_redis_url(const std::string& url, const std::string& what) {
  const std::string scheme = "redis://";
  if (url.rfind(scheme, 0) != 0) throw std::invalid_argument(what + " '" + url + "' is not redis://HOST[:PORT][/DB]");
  RedisAddress a;
  std::string rest = url.substr(scheme.size());
  if (const size_t slash = rest.find('/'); slash != std::string::npos) {
    const std::string d = rest.substr(slash + 1);
    rest.resize(slash);
    if (!d.empty()) {
      if (d.find_first_not_of("0123456789") != std::string::npos || d.size() > 4)
        throw std::invalid_argument(what + " '" + url + "': the database must be a number");
      a.db = std::stoi(d);
    }
  }
  if (const size_t colon = rest.rfind(':'); colon != std::string::npos) {
    const std::string p = rest.substr(colon + 1);
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos || std::stoi(p) > 65535)
      throw std::invalid_argument(what + " '" + url + "': bad port");
    a.port = std::stoi(p);
    rest.resize(colon);
  }
  if (rest.empty()) throw std::invalid_argument(what + " '" + url + "' names no host");
  a.host = rest;
  return a;
}

RedisPool::RedisPool(RedisAddress address, int64_t timeout_ms, const std::string& role, const std::string& consequence)
    : address_(std::move(address)), timeout_ms_(timeout_ms), outage_(role + " " + address_.url(), consequence) {}

RedisPool::~RedisPool() {
  for (redisContext* c : idle_) redisFree(c);
}

bool RedisPool::run(const std::vector<std::string>& args, const std::function<void(redisReply*)>& on_reply,
                    std::string* why) {
  std::string failure;
  redisContext* c = checkout(&failure);
  if (!c) {
    if (why) *why = failure;
    return false;
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
  auto* reply = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (!reply || c->err) {
    if (reply) freeReplyObject(reply);
    failure = c->errstr[0] ? c->errstr : "no reply";
    outage_.failed(failure);
    redisFree(c);
    if (why) *why = failure;
    return false;
  }
  on_reply(reply);
  freeReplyObject(reply);
  checkin(c);
  return true;
}

redisContext* RedisPool::checkout(std::string* why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      redisContext* c = idle_.back();
      idle_.pop_back();
      return c;
    }
  }
  if (!outage_.may_try()) {
    *why = "down, retried each second";
    return nullptr;
  }
  const timeval tv{timeout_ms_ / 1000, static_cast<suseconds_t>((timeout_ms_ % 1000) * 1000)};
  redisContext* c = redisConnectWithTimeout(address_.host.c_str(), address_.port, tv);
  if (!c || c->err) {
    *why = c ? c->errstr : "cannot allocate a connection";
    outage_.failed(*why);
    if (c) redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, tv);
  if (address_.db != 0) {
    auto* r = static_cast<redisReply*>(redisCommand(c, "SELECT %d", address_.db));
    const bool ok = r && r->type != REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
    if (!ok) {
      *why = "SELECT " + std::to_string(address_.db) + " failed";
      outage_.failed(*why);
      redisFree(c);
      return nullptr;
    }
  }
  outage_.succeeded();
  return c;
}

void RedisPool::checkin(redisContext* c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < 64) idle_.push_back(c);
  else redisFree(c);
}

}  // namespace citadel
