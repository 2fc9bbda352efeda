// What the audit trail records of one API call, and its line in Elastic Common Schema fields
// (@timestamp, event.*, user.*, client.ip, tls.client.subject, http.*, url.path; ours under
// citadel.*), so Fluentd / Elasticsearch take it as it is. Never the key itself: its id and role.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/role.h"

namespace citadel {

// What of the prompt and answer text is kept: nothing (default), their HMAC-SHA256 under a server
// secret (an auditor holding a suspect text can check whether it was sent; a plain hash of a short
// text could be brute-forced), or the text itself.
enum class AuditContent { None, Hmac, Text };
AuditContent parse_audit_content(const std::string& name);  // "none" | "hmac" | "text"; throws

struct AuditRecord {
  std::string request_id, method, path, client_ip, tls_subject, model;
  std::string key_id, key_name;
  std::optional<Role> role;
  int status = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double duration_seconds = 0;
  std::string refusal;                       // the gateway's reason, when it refused the call
  std::vector<std::string> inputs, outputs;  // prompt texts (messages) and answer texts (choices)
  std::string cache;                         // "hit" / "miss" when the response cache was asked
};

// The event; `hmac_key` is used in Hmac mode. `now_ms`: unix milliseconds of @timestamp.
nlohmann::json audit_event_json(const AuditRecord& r, AuditContent content, const std::string& hmac_key, int64_t now_ms);
// The HMAC an audit line holds for `text` (what `citadel audit hmac` prints).
std::string audit_text_hmac(const std::string& hmac_key, const std::string& text);

}  // namespace citadel
