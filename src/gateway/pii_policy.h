// What a PII policy does to one request (set per API key and per model by the gateway).
//   off           nothing is looked for
//   log-only      the model sees the request as sent; logs and audit hold the redacted text
//   redact-input  the model sees placeholders ([PHONE_1]); the caller's answer gets the original
//                 values put back (held for the request only, never stored); logs hold placeholders
//   redact-both   as redact-input, but the answer keeps the placeholders and PII the model writes
//                 itself is redacted too
#pragma once
#include <string>

namespace citadel {

enum class PiiPolicy { Off, LogOnly, RedactInput, RedactBoth };

const char* pii_policy_name(PiiPolicy p);  // "off", "log-only", "redact-input", "redact-both"
// Throws std::invalid_argument listing the policies.
PiiPolicy parse_pii_policy(const std::string& name);

// Whether logs and the audit trail must hold redacted text (every policy but off).
bool pii_redacts_logs(PiiPolicy p);
// Whether the model gets the redacted prompt (redact-input, redact-both).
bool pii_redacts_input(PiiPolicy p);
// Whether the answer sent to the caller gets the original values back (redact-input).
bool pii_restores_output(PiiPolicy p);
// Whether the answer sent to the caller is redacted itself (redact-both).
bool pii_redacts_output(PiiPolicy p);

}  // namespace citadel
