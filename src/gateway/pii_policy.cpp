#include "gateway/pii_policy.h"

#include <stdexcept>

namespace citadel {

const char* pii_policy_name(PiiPolicy p) {
  switch (p) {
    case PiiPolicy::Off: return "off";
    case PiiPolicy::LogOnly: return "log-only";
    case PiiPolicy::RedactInput: return "redact-input";
    case PiiPolicy::RedactBoth: return "redact-both";
  }
  return "off";
}

PiiPolicy parse_pii_policy(const std::string& name) {
  for (PiiPolicy p : {PiiPolicy::Off, PiiPolicy::LogOnly, PiiPolicy::RedactInput, PiiPolicy::RedactBoth})
    if (name == pii_policy_name(p)) return p;
  throw std::invalid_argument("unknown PII policy '" + name + "' (off, log-only, redact-input, redact-both)");
}

bool pii_redacts_logs(PiiPolicy p) { return p != PiiPolicy::Off; }
bool pii_redacts_input(PiiPolicy p) { return p == PiiPolicy::RedactInput || p == PiiPolicy::RedactBoth; }
bool pii_restores_output(PiiPolicy p) { return p == PiiPolicy::RedactInput; }
bool pii_redacts_output(PiiPolicy p) { return p == PiiPolicy::RedactBoth; }

}  // namespace citadel
