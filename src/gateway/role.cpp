#include "gateway/role.h"

#include <stdexcept>

namespace citadel {

const char* role_name(Role r) {
  switch (r) {
    case Role::Admin: return "admin";
    case Role::User: return "user";
    case Role::Auditor: return "auditor";
  }
  return "user";
}

Role parse_role(const std::string& name) {
  if (name == "admin") return Role::Admin;
  if (name == "user") return Role::User;
  if (name == "auditor") return Role::Auditor;
  throw std::invalid_argument("unknown role '" + name + "' (roles: admin, user, auditor)");
}

bool role_allows(Role role, Access access) {
  switch (access) {
    case Access::Open:
    case Access::ModelList: return true;
    case Access::Inference: return role == Role::User;
    case Access::Manage: return role == Role::Admin;
    case Access::Audit:
    case Access::Metrics: return role == Role::Admin || role == Role::Auditor;
  }
  return false;
}

}  // namespace citadel
