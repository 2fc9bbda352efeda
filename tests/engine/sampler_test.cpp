#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <map>

#include "engine/stop_matcher.h"

using namespace citadel;

TEST(Sampler, GreedyPicksArgmax) {
  SamplingParams p;
  p.temperature = 0;
  Sampler s(p);
  std::vector<float> l = {0.1f, 3.0f, -1.0f, 2.9f};
  EXPECT_EQ(s.sample(l.data(), 4), 1);
}

TEST(Sampler, SameSeedSameTokens) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0;
  p.seed = 1234;
  auto draw = [&] {
    Sampler s(p);
    std::vector<int> out;
    for (int i = 0; i < 50; ++i) {
      std::vector<float> l = {1.0f, 1.1f, 0.9f, 1.05f, 0.5f};
      out.push_back(s.sample(l.data(), 5));
    }
    return out;
  };
  auto a = draw(), b = draw();
  EXPECT_EQ(a, b);
  p.seed = 99;
  EXPECT_NE(a, draw());
}

TEST(Sampler, TopKOneIsGreedy) {
  SamplingParams p;
  p.temperature = 5.0f;
  p.top_k = 1;
  Sampler s(p);
  for (int i = 0; i < 20; ++i) {
    std::vector<float> l = {0.0f, 0.5f, 0.4f};
    EXPECT_EQ(s.sample(l.data(), 3), 1);
  }
}

TEST(Sampler, TopPAndMinPCutTheTail) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 0.5f;
  p.min_p = 0;
  Sampler s(p);
  // Probabilities ~ [0.64, 0.24, 0.09, 0.03]: top-p 0.5 keeps only the first.
  for (int i = 0; i < 30; ++i) {
    std::vector<float> l = {3.0f, 2.0f, 1.0f, 0.0f};
    EXPECT_EQ(s.sample(l.data(), 4), 0);
  }
  p.top_p = 1.0f;
  p.min_p = 0.3f;  // keeps tokens with prob >= 0.3 * 0.64
  Sampler m(p);
  std::map<int, int> seen;
  for (int i = 0; i < 300; ++i) {
    std::vector<float> l = {3.0f, 2.0f, 1.0f, 0.0f};
    ++seen[m.sample(l.data(), 4)];
  }
  EXPECT_GT(seen[0], 0);
  EXPECT_GT(seen[1], 0);
  EXPECT_EQ(seen.count(2), 0u);
  EXPECT_EQ(seen.count(3), 0u);
}

TEST(Sampler, TemperatureSpreadsChoices) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0;
  Sampler s(p);
  std::map<int, int> seen;
  for (int i = 0; i < 2000; ++i) {
    std::vector<float> l = {0.0f, 0.0f};
    ++seen[s.sample(l.data(), 2)];
  }
  EXPECT_NEAR(seen[0] / 2000.0, 0.5, 0.06);
}

TEST(Sampler, PenaltiesDiscourageRepeats) {
  SamplingParams p;
  p.temperature = 0;
  p.repeat_penalty = 2.0f;
  Sampler s(p);
  s.accept(0);
  std::vector<float> l = {2.0f, 1.5f};
  EXPECT_EQ(s.sample(l.data(), 2), 1);  // 2.0 / 2 < 1.5
  SamplingParams f;
  f.temperature = 0;
  f.frequency_penalty = 0.4f;
  f.presence_penalty = 0.2f;
  Sampler fs(f);
  fs.accept(0);
  fs.accept(0);
  std::vector<float> l2 = {2.0f, 1.5f};
  EXPECT_EQ(fs.sample(l2.data(), 2), 1);  // 2.0 - 0.8 - 0.2 = 1.0
  EXPECT_FLOAT_EQ(l2[0], 1.0f);
}

TEST(StopMatcher, HoldsBackPartialStopAndCutsAtStop) {
  StopMatcher m({"\n\n", "END"});
  EXPECT_EQ(m.push("Hello E"), "Hello ");
  EXPECT_EQ(m.push("N"), "");
  EXPECT_EQ(m.push("x"), "ENx");
  EXPECT_EQ(m.push(" world\n"), " world");
  EXPECT_EQ(m.push("\nmore"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.matched(), "\n\n");
  EXPECT_EQ(m.push("ignored"), "");
}

TEST(StopMatcher, MatchedIsTheEarliestStopString) {
  StopMatcher m({"world", "lo"});
  EXPECT_EQ(m.matched(), "");
  EXPECT_EQ(m.push("hello world"), "hel");
  EXPECT_EQ(m.matched(), "lo");
}

TEST(StopMatcher, FlushReturnsRemainder) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.push("abcST"), "abc");
  EXPECT_EQ(m.flush(), "ST");
  StopMatcher none({});
  EXPECT_EQ(none.push("x"), "x");
}
