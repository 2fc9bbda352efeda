#include "server/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace citadel {

namespace {

std::string escape_help(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
  }
  return "untyped";
}

// `{a="x",b="y"}` with an optional extra label (le) appended; empty when there are no labels.
std::string label_text(const MetricLabels& labels, const char* extra_name = nullptr, const std::string& extra = "") {
  if (labels.empty() && !extra_name) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + MetricsRegistry::escape_label_value(v) + "\"";
  }
  if (extra_name) {
    if (!first) out += ',';
    out += std::string(extra_name) + "=\"" + extra + "\"";
  }
  return out + "}";
}

}  // namespace

std::string MetricsRegistry::escape_label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string MetricsRegistry::format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  // The shortest form that reads back exactly (0.005, not 0.0050000000000000001).
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

void MetricsRegistry::declare(const std::string& name, MetricType type, const std::string& help,
                              std::vector<double> buckets) {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (it->second.type != type) throw std::logic_error("metric '" + name + "' declared with two types");
    return;
  }
  if (type == MetricType::Histogram && (buckets.empty() || !std::is_sorted(buckets.begin(), buckets.end())))
    throw std::logic_error("histogram '" + name + "' needs ascending buckets");
  Family& f = families_[name];
  f.type = type;
  f.help = help;
  f.buckets = std::move(buckets);
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, MetricType type) {
  auto it = families_.find(name);
  if (it == families_.end()) throw std::logic_error("metric '" + name + "' is not declared");
  if (it->second.type != type) throw std::logic_error("metric '" + name + "' used as the wrong type");
  return it->second;
}

void MetricsRegistry::counter_add(const std::string& name, const MetricLabels& labels, double v) {
  if (!(v >= 0)) return;  // counters only go up
  std::lock_guard lock(mu_);
  family(name, MetricType::Counter).series[labels].value += v;
}

void MetricsRegistry::counter_set(const std::string& name, const MetricLabels& labels, double v) {
  std::lock_guard lock(mu_);
  family(name, MetricType::Counter).series[labels].value = v;
}

void MetricsRegistry::gauge_set(const std::string& name, const MetricLabels& labels, double v) {
  std::lock_guard lock(mu_);
  family(name, MetricType::Gauge).series[labels].value = v;
}

void MetricsRegistry::clear(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) it->second.series.clear();
}

void MetricsRegistry::observe(const std::string& name, const MetricLabels& labels, double v) {
  std::lock_guard lock(mu_);
  Family& f = family(name, MetricType::Histogram);
  Series& s = f.series[labels];
  if (s.bucket_counts.empty()) s.bucket_counts.assign(f.buckets.size(), 0);
  // Bucket i counts observations <= buckets[i] (cumulated at render time).
  auto it = std::lower_bound(f.buckets.begin(), f.buckets.end(), v);
  if (it != f.buckets.end()) ++s.bucket_counts[static_cast<size_t>(it - f.buckets.begin())];
  s.sum += v;
  ++s.count;
}

void MetricsRegistry::add_collector(std::function<void(MetricsRegistry&)> collector) {
  std::lock_guard lock(collectors_mu_);
  collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::render() {
  {
    std::lock_guard lock(collectors_mu_);
    for (auto& c : collectors_) c(*this);
  }
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + " " + type_name(f.type) + "\n";
    if (f.series.empty() && f.type == MetricType::Counter) out += name + " 0\n";
    for (const auto& [labels, s] : f.series) {
      if (f.type != MetricType::Histogram) {
        out += name + label_text(labels) + " " + format_value(s.value) + "\n";
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += s.bucket_counts[i];
        out += name + "_bucket" + label_text(labels, "le", format_value(f.buckets[i])) + " " +
               std::to_string(cumulative) + "\n";
      }
      out += name + "_bucket" + label_text(labels, "le", "+Inf") + " " + std::to_string(s.count) + "\n";
      out += name + "_sum" + label_text(labels) + " " + format_value(s.sum) + "\n";
      out += name + "_count" + label_text(labels) + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

}  // namespace citadel
