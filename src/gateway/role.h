// What a key may do. admin: manage keys, read usage and the audit trail. user: inference on the
// models its key allows. auditor: read usage and the audit trail, no inference.
#pragma once
#include <string>

namespace citadel {

enum class Role { Admin, User, Auditor };

const char* role_name(Role r);  // "admin", "user", "auditor"
// Throws std::invalid_argument listing the roles.
Role parse_role(const std::string& name);

// The kinds of access a route needs (the server maps each route to one).
enum class Access {
  Open,       // no key needed: /health, the static chat page
  Inference,  // generation, embeddings, tokenization, listing models: users
  ModelList,  // /v1/models and the like: every role (users see their models only)
  Manage,     // key management and adapters: admins
  Audit,      // usage and audit reading: admins and auditors
  Metrics,    // /metrics: admins and auditors (or the metrics key, or open when configured)
};

// Whether `role` may use a route of `access` (Open is always allowed).
bool role_allows(Role role, Access access);

}  // namespace citadel
