// The response cache: the in-process LRU, Redis (a real redis-server started here), keys and
// the encoding of answers.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "gateway/cached_answer.h"
#include "gateway/response_cache.h"
#include "redis_test_server.h"

namespace citadel {
namespace {

TEST(MemoryCache, HitMissLruAndTtl) {
  auto c = make_response_cache({"memory", 1, 100});
  EXPECT_FALSE(c->get("a"));
  c->put("a", std::string(40, 'x'));
  c->put("b", std::string(40, 'y'));
  EXPECT_EQ(c->get("a"), std::string(40, 'x'));  // a is now the most recent
  c->put("c", std::string(40, 'z'));             // 123 bytes > 100: the least recent (b) goes
  EXPECT_TRUE(c->get("a"));
  EXPECT_FALSE(c->get("b"));
  EXPECT_TRUE(c->get("c"));
  c->put("huge", std::string(200, 'h'));  // larger than the whole cache: not kept, nothing evicted
  EXPECT_FALSE(c->get("huge"));
  EXPECT_TRUE(c->get("a"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_FALSE(c->get("a")) << "past its TTL";
  EXPECT_THROW(make_response_cache({"memcached://x"}), std::invalid_argument);
  EXPECT_THROW(make_response_cache({"redis://host:99999"}), std::invalid_argument);
  EXPECT_THROW(make_response_cache({"redis://:6379"}), std::invalid_argument);
  EXPECT_THROW(make_response_cache({"memory", 0}), std::invalid_argument);
}


TEST(RedisCache, SharedHitsTtlAndOutages) {
  if (!have_redis()) GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it)";
  RedisServer redis;
  auto a = make_response_cache({redis.url(), 1, 1 << 20});
  auto b = make_response_cache({redis.url(), 1, 1 << 20});  // a second server process's cache
  EXPECT_FALSE(a->get("k"));
  a->put("k", std::string("binary\0value", 12));
  EXPECT_EQ(b->get("k"), std::string("binary\0value", 12)) << "replicas share entries";
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_FALSE(b->get("k")) << "Redis expired it";

  redis.stop();  // killed mid-run: misses, quickly, and marked down
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(a->get("k"));
  a->put("k", "v");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500)) << "no timeout per request";
  EXPECT_FALSE(a->available());

  redis.start();  // back: caching resumes after the retry interval
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  a->put("k2", "v2");
  EXPECT_EQ(a->get("k2"), "v2");
  EXPECT_TRUE(a->available());
}

TEST(CachedAnswer, KeysTellApartWhatDecidesAnAnswer) {
  GenerationRequest r;
  r.prompt = {1, 2, 3};
  r.max_tokens = 16;
  r.sampling.temperature = 0;
  const CacheScope scope{"stories", "*", ""};
  const auto k = cache_key(r, scope, false);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->size(), 64u);
  EXPECT_EQ(cache_key(r, scope, false), k);
  r.sampling.seed = 99;  // greedy answers do not depend on the seed
  EXPECT_EQ(cache_key(r, scope, false), k);
  EXPECT_NE(cache_key(r, {"stories", "stories,other", ""}, false), k) << "keys of other reach";
  EXPECT_NE(cache_key(r, {"other", "*", ""}, false), k);
  EXPECT_NE(cache_key(r, {"stories", "*", "{\"type\":\"object\"}"}, false), k);
  GenerationRequest longer = r;
  longer.max_tokens = 17;
  EXPECT_NE(cache_key(longer, scope, false), k);
  GenerationRequest stop = r;
  stop.stop = {"."};
  EXPECT_NE(cache_key(stop, scope, false), k);
  GenerationRequest sampled = r;
  sampled.sampling.temperature = 0.7f;
  EXPECT_FALSE(cache_key(sampled, scope, false)) << "sampled without a chosen seed: not reproducible";
  EXPECT_TRUE(cache_key(sampled, scope, true)) << "unless configured to cache such answers";
  sampled.seed_given = true;
  EXPECT_TRUE(cache_key(sampled, scope, false));
  GenerationRequest other_seed = sampled;
  other_seed.sampling.seed = 100;
  EXPECT_NE(cache_key(sampled, scope, false), cache_key(other_seed, scope, false));
}

TEST(CachedAnswer, EncodingRoundTrips) {
  std::vector<TokenEvent> events = {{5, "Once", -0.5f, {{5, "Once", -0.5f}, {6, "One", -1.5f}}}, {7, " upon", -0.1f, {}}};
  GenerationResult r;
  r.reason = FinishReason::Length;
  r.prompt_tokens = 4;
  r.completion_tokens = 2;
  const auto back = decode_answer(encode_answer(events, r));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->first.size(), 2u);
  EXPECT_EQ(back->first[0].text, "Once");
  EXPECT_EQ(back->first[0].top[1].piece, "One");
  EXPECT_EQ(back->first[1].token, 7);
  EXPECT_EQ(back->second.reason, FinishReason::Length);
  EXPECT_EQ(back->second.completion_tokens, 2);
  for (const char* bad : {"", "null", "{}", "{\"v\":1}", "{\"v\":1,\"events\":[[1]],\"reason\":0}", "\xff\xfe"})
    EXPECT_FALSE(decode_answer(bad)) << bad;
  GenerationResult failed;
  failed.reason = FinishReason::Error;
  EXPECT_FALSE(decode_answer(encode_answer({}, failed))) << "a failed generation is never replayed";
}

}  // namespace
}  // namespace citadel
