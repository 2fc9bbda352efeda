#include "gateway/redis_rate_limiter.h"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "gateway/digest.h"

namespace citadel {
namespace {

// KEYS[1]: the prefix of the key's second buckets; KEYS[2]: its day counter.
// ARGV: now (unix s), rpm, tpm, tokens per day. Returns {1} or {0, which limit (1 rpm, 2 tpm,
// 3 tokens/day), seconds until admitted (minute limits)}: the oldest seconds leave the window
// until the sum is below the limit, as in the SQL ledger.
const char* const kAdmitScript = R"lua(
local now, rpm, tpm, tpd = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if rpm > 0 or tpm > 0 then
  local seconds, total = {}, {0, 0}
  for s = now - 59, now do
    local v = redis.call('HMGET', KEYS[1] .. s, 'r', 't')
    local r, t = tonumber(v[1]) or 0, tonumber(v[2]) or 0
    if r > 0 or t > 0 then
      seconds[#seconds + 1] = {s, r, t}
      total[1], total[2] = total[1] + r, total[2] + t
    end
  end
  for which, limit in ipairs({rpm, tpm}) do
    if limit > 0 and total[which] >= limit then
      local left, i = total[which], 0
      while left >= limit do
        i = i + 1
        left = left - seconds[i][which + 1]
      end
      return {0, which, math.max(1, seconds[i][1] + 60 - now)}
    end
  end
end
if tpd > 0 and (tonumber(redis.call('GET', KEYS[2])) or 0) >= tpd then return {0, 3, 0} end
redis.call('HINCRBY', KEYS[1] .. now, 'r', 1)
redis.call('EXPIRE', KEYS[1] .. now, 120)
return {1}
)lua";

// ARGV: the admission's second, tokens, now. A second already out of the window keeps nothing.
const char* const kSettleScript = R"lua(
local ticket, tokens, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if now - ticket < 60 then
  redis.call('HINCRBY', KEYS[1] .. ticket, 't', tokens)
  redis.call('EXPIRE', KEYS[1] .. ticket, 120)
end
redis.call('INCRBY', KEYS[2], tokens)
redis.call('EXPIRE', KEYS[2], 172800)
return {1}
)lua";

std::string sha1_hex(const std::string& text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), md, &n, EVP_sha1(), nullptr);
  return to_hex(md, n);
}

}  // namespace

RedisRateLimiter::RedisRateLimiter(const std::string& url, int64_t timeout_ms)
    : pool_(parse_redis_url(url, "redis_url"), timeout_ms, "rate limits", "requests of keys with limits get 503"),
      admit_{kAdmitScript, sha1_hex(kAdmitScript)},
      settle_{kSettleScript, sha1_hex(kSettleScript)} {}

std::vector<int64_t> RedisRateLimiter::eval(const Script& script, const std::string& key_id, const std::string& day,
                                            const std::vector<std::string>& args) {
  // {key id}: a hash tag, so that all of a key's buckets live in one Redis Cluster slot.
  const std::string prefix = "citadel:rl:{" + key_id + "}:";
  std::vector<std::string> argv = {"EVALSHA", script.sha1, "2", prefix + "s:", prefix + "d:" + day};
  argv.insert(argv.end(), args.begin(), args.end());
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<int64_t> out;
    std::string error, why;
    const bool replied = pool_.run(argv, [&](redisReply* r) {
      if (r->type == REDIS_REPLY_ERROR) error.assign(r->str, r->len);
      else if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; ++i) out.push_back(r->element[i]->integer);
      else error = "unexpected reply type " + std::to_string(r->type);
    }, &why);
    if (!replied) throw BackendUnavailable("rate limits: Redis " + describe() + " is unreachable (" + why + ")");
    if (attempt == 0 && error.rfind("NOSCRIPT", 0) == 0) {  // a restarted Redis: send the script itself
      argv[0] = "EVAL";
      argv[1] = script.text;
      continue;
    }
    if (!error.empty() || out.empty()) {
      pool_.failed(error);
      throw BackendUnavailable("rate limits: Redis " + describe() + " answered: " + error);
    }
    return out;
  }
  throw BackendUnavailable("rate limits: Redis " + describe() + " does not run the script");
}

Admission RedisRateLimiter::admit(const KeyRecord& key, int64_t now_ms) {
  const KeyQuota& q = key.quota;
  const int64_t now_s = now_ms / 1000;
  const auto r = eval(admit_, key.id, utc_day(now_s),
                      {std::to_string(now_s), std::to_string(q.requests_per_minute),
                       std::to_string(q.tokens_per_minute), std::to_string(q.tokens_per_day)});
  Admission a;
  if (r[0] == 1) {
    a.ticket = now_s;
    return a;
  }
  a.allowed = false;
  const int64_t which = r.size() > 1 ? r[1] : 1;
  a.limit = which == 1 ? "requests per minute" : which == 2 ? "tokens per minute" : "tokens per day";
  if (which == 3) {
    const int64_t next_midnight_ms = (now_ms / 86400000 + 1) * 86400000;
    a.retry_after = (next_midnight_ms - now_ms + 999) / 1000;
  } else {
    a.retry_after = r.size() > 2 ? r[2] : 1;
  }
  return a;
}

void RedisRateLimiter::settle(const std::string& key_id, int64_t ticket, int64_t tokens, int64_t now_ms) {
  const int64_t now_s = now_ms / 1000;
  eval(settle_, key_id, utc_day(now_s), {std::to_string(ticket), std::to_string(tokens), std::to_string(now_s)});
}

}  // namespace citadel
