// A small thread-safe metrics registry rendered in the Prometheus text exposition format (0.0.4).
// Families are declared once (name, type, help, buckets); series are addressed by label sets.
// Collectors run at render time to refresh gauges that mirror state kept elsewhere.
#pragma once
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace citadel {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { Counter, Gauge, Histogram };

class MetricsRegistry {
 public:
  // Declares a family; declaring it again with the same type is a no-op. Histograms need ascending buckets.
  void declare(const std::string& name, MetricType type, const std::string& help, std::vector<double> buckets = {});

  void counter_add(const std::string& name, const MetricLabels& labels, double v = 1);
  // Sets a counter that is kept elsewhere (engine totals); Prometheus sees it as a counter.
  void counter_set(const std::string& name, const MetricLabels& labels, double v);
  void gauge_set(const std::string& name, const MetricLabels& labels, double v);
  // Removes every series of a family (so a gauge that no longer applies disappears instead of reading 0).
  void clear(const std::string& name);
  void observe(const std::string& name, const MetricLabels& labels, double v);

  // Runs before each render, outside the registry lock.
  void add_collector(std::function<void(MetricsRegistry&)> collector);

  // The text exposition; families in name order, series in label order. Declared families with no
  // series yet print only their HELP/TYPE lines, except unlabelled counters, which print 0.
  std::string render();

  // Exposed for tests.
  static std::string escape_label_value(const std::string& v);
  static std::string format_value(double v);

 private:
  struct Series {
    double value = 0;                 // counter or gauge
    std::vector<uint64_t> bucket_counts;  // histogram, non-cumulative
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    MetricType type = MetricType::Counter;
    std::string help;
    std::vector<double> buckets;
    std::map<MetricLabels, Series> series;
  };
  Family& family(const std::string& name, MetricType type);

  std::mutex mu_;
  std::map<std::string, Family> families_;
  std::mutex collectors_mu_;
  std::vector<std::function<void(MetricsRegistry&)>> collectors_;
};

}  // namespace citadel
