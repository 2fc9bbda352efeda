// Structured request logs: one JSON object per line, joinable with metrics and the audit log on `request_id`.
#pragma once
#include <cstdint>
#include <string>

namespace citadel {

struct RequestLogEntry {
  std::string request_id;
  std::string method;
  std::string path;
  int status = 0;
  std::string model;  // empty: none
  std::string adapter;  // the model's LoRA adapter, when the request chose one
  double duration_seconds = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  std::string remote_addr;
};

// The entry as one line of JSON (no newline), with an RFC 3339 UTC timestamp of now.
std::string request_log_json(const RequestLogEntry& e);
// Writes the line plus a newline to stderr in one write, so concurrent lines never interleave.
void write_request_log(const RequestLogEntry& e);

// A fresh request id: 16 random hex digits.
std::string new_request_id();
// Whether a client-supplied id is safe to echo and log (1..128 printable ASCII, no spaces or quotes).
bool valid_request_id(const std::string& id);

}  // namespace citadel
