#include "server/metrics.h"

#include <gtest/gtest.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "server/request_log.h"

namespace citadel {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Metrics, CounterHelpTypeAndLabels) {
  MetricsRegistry m;
  m.declare("x_requests_total", MetricType::Counter, "Requests.\nSecond line \\ here.");
  m.counter_add("x_requests_total", {{"endpoint", "/a"}, {"status", "200"}});
  m.counter_add("x_requests_total", {{"endpoint", "/a"}, {"status", "200"}}, 2);
  m.counter_add("x_requests_total", {{"endpoint", "/a"}, {"status", "200"}}, -5);  // ignored
  const std::string out = m.render();
  EXPECT_TRUE(contains(out, "# HELP x_requests_total Requests.\\nSecond line \\\\ here.\n")) << out;
  EXPECT_TRUE(contains(out, "# TYPE x_requests_total counter\n"));
  EXPECT_TRUE(contains(out, "x_requests_total{endpoint=\"/a\",status=\"200\"} 3\n")) << out;
}

TEST(Metrics, UnlabelledCounterStartsAtZero) {
  MetricsRegistry m;
  m.declare("x_refusals_total", MetricType::Counter, "Refusals.");
  m.declare("x_temp", MetricType::Gauge, "Temperature.");
  const std::string out = m.render();
  EXPECT_TRUE(contains(out, "x_refusals_total 0\n")) << out;
  EXPECT_TRUE(contains(out, "# TYPE x_temp gauge\n"));
  EXPECT_FALSE(contains(out, "\nx_temp ")) << "a gauge with no series prints no sample";
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(MetricsRegistry::escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  MetricsRegistry m;
  m.declare("x_g", MetricType::Gauge, "G.");
  m.gauge_set("x_g", {{"name", "say \"hi\""}}, 1.5);
  EXPECT_TRUE(contains(m.render(), "x_g{name=\"say \\\"hi\\\"\"} 1.5\n")) << m.render();
}

TEST(Metrics, ValuesFormatShortestExact) {
  EXPECT_EQ(MetricsRegistry::format_value(0.005), "0.005");
  EXPECT_EQ(MetricsRegistry::format_value(2), "2");
  EXPECT_EQ(MetricsRegistry::format_value(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(MetricsRegistry::format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(MetricsRegistry::format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(MetricsRegistry::format_value(0.0 / 0.0), "NaN");
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInf) {
  MetricsRegistry m;
  m.declare("x_seconds", MetricType::Histogram, "Latency.", {0.1, 0.5, 1});
  const MetricLabels l = {{"model", "m"}};
  for (double v : {0.05, 0.1, 0.3, 0.7, 3.0}) m.observe("x_seconds", l, v);
  const std::string out = m.render();
  EXPECT_TRUE(contains(out, "# TYPE x_seconds histogram\n"));
  EXPECT_TRUE(contains(out, "x_seconds_bucket{model=\"m\",le=\"0.1\"} 2\n")) << out;  // le is inclusive
  EXPECT_TRUE(contains(out, "x_seconds_bucket{model=\"m\",le=\"0.5\"} 3\n"));
  EXPECT_TRUE(contains(out, "x_seconds_bucket{model=\"m\",le=\"1\"} 4\n"));
  EXPECT_TRUE(contains(out, "x_seconds_bucket{model=\"m\",le=\"+Inf\"} 5\n"));
  EXPECT_TRUE(contains(out, "x_seconds_sum{model=\"m\"} 4.1500000000000004\n") ||
              contains(out, "x_seconds_sum{model=\"m\"} 4.15\n"))
      << out;
  EXPECT_TRUE(contains(out, "x_seconds_count{model=\"m\"} 5\n"));
}

TEST(Metrics, UnlabelledHistogram) {
  MetricsRegistry m;
  m.declare("x_seconds", MetricType::Histogram, "Latency.", {1});
  m.observe("x_seconds", {}, 2);
  const std::string out = m.render();
  EXPECT_TRUE(contains(out, "x_seconds_bucket{le=\"1\"} 0\n")) << out;
  EXPECT_TRUE(contains(out, "x_seconds_bucket{le=\"+Inf\"} 1\n"));
  EXPECT_TRUE(contains(out, "x_seconds_sum 2\n"));
  EXPECT_TRUE(contains(out, "x_seconds_count 1\n"));
}

TEST(Metrics, MisuseThrows) {
  MetricsRegistry m;
  EXPECT_THROW(m.counter_add("undeclared_total", {}), std::logic_error);
  m.declare("x_total", MetricType::Counter, "X.");
  EXPECT_THROW(m.gauge_set("x_total", {}, 1), std::logic_error);
  EXPECT_THROW(m.declare("x_total", MetricType::Gauge, "X."), std::logic_error);
  EXPECT_THROW(m.declare("h", MetricType::Histogram, "H.", {2, 1}), std::logic_error);
}

TEST(Metrics, CollectorsRunAtRenderAndClearRemovesSeries) {
  MetricsRegistry m;
  m.declare("x_gpu_ratio", MetricType::Gauge, "GPU.");
  bool present = true;
  m.add_collector([&](MetricsRegistry& r) {
    r.clear("x_gpu_ratio");
    if (present) r.gauge_set("x_gpu_ratio", {{"gpu", "0"}}, 0.25);
  });
  EXPECT_TRUE(contains(m.render(), "x_gpu_ratio{gpu=\"0\"} 0.25\n"));
  present = false;
  EXPECT_FALSE(contains(m.render(), "x_gpu_ratio{"));
}

TEST(Metrics, ConcurrentUpdatesAreCounted) {
  MetricsRegistry m;
  m.declare("x_total", MetricType::Counter, "X.");
  m.declare("x_seconds", MetricType::Histogram, "S.", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        m.counter_add("x_total", {{"t", "a"}});
        m.observe("x_seconds", {}, 0.5);
      }
    });
  for (auto& t : threads) t.join();
  const std::string out = m.render();
  EXPECT_TRUE(contains(out, "x_total{t=\"a\"} 8000\n")) << out;
  EXPECT_TRUE(contains(out, "x_seconds_count 8000\n"));
}

TEST(RequestLog, OneJsonLineWithTheFields) {
  RequestLogEntry e;
  e.request_id = "abc";
  e.method = "POST";
  e.path = "/v1/chat/completions";
  e.status = 200;
  e.model = "tiny";
  e.duration_seconds = 0.0123456;
  e.prompt_tokens = 5;
  e.completion_tokens = 7;
  const std::string line = request_log_json(e);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["request_id"], "abc");
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["model"], "tiny");
  EXPECT_NEAR(j["duration_ms"].get<double>(), 12.345, 1e-9);
  EXPECT_EQ(j["completion_tokens"], 7);
  EXPECT_EQ(j["timestamp"].get<std::string>().back(), 'Z');
}

TEST(RequestLog, RequestIds) {
  EXPECT_EQ(new_request_id().size(), 16u);
  EXPECT_NE(new_request_id(), new_request_id());
  EXPECT_TRUE(valid_request_id("req-123_ABC.x"));
  EXPECT_FALSE(valid_request_id(""));
  EXPECT_FALSE(valid_request_id("has space"));
  EXPECT_FALSE(valid_request_id("quote\""));
  EXPECT_FALSE(valid_request_id(std::string(129, 'a')));
}

}  // namespace
}  // namespace citadel
