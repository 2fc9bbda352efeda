#include "server/request_log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include <nlohmann/json.hpp>

namespace citadel {

namespace {

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

std::string request_log_json(const RequestLogEntry& e) {
  nlohmann::ordered_json j;
  j["timestamp"] = utc_now();
  j["level"] = e.status >= 500 ? "error" : (e.status >= 400 ? "warn" : "info");
  j["request_id"] = e.request_id;
  j["method"] = e.method;
  j["path"] = e.path;
  j["status"] = e.status;
  j["model"] = e.model.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(e.model);
  if (!e.adapter.empty()) j["adapter"] = e.adapter;
  j["duration_ms"] = static_cast<double>(static_cast<int64_t>(e.duration_seconds * 1e6)) / 1e3;
  j["prompt_tokens"] = e.prompt_tokens;
  j["completion_tokens"] = e.completion_tokens;
  if (!e.remote_addr.empty()) j["remote_addr"] = e.remote_addr;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_request_log(const RequestLogEntry& e) {
  const std::string line = request_log_json(e) + "\n";
  // One write(2) per line: stdio buffering could split a line between threads.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

bool valid_request_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id)
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  return true;
}

}  // namespace citadel
