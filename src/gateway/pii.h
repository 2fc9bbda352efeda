// PII detection and redaction: the one header the gateway, the logs and `citadel redact` include.
//
//   PiiDetector detector(pii_config_from_json(config_json));   // once, shared by all threads
//   PiiRedactor redactor(detector);                             // per request
//   std::string prompt = redactor.redact(user_text);            // "call [PHONE_1]"
//   std::string answer = redactor.restore(model_text);          // placeholders -> originals
//   PiiStreamRestorer stream(redactor);                         // the same, chunk by chunk
//   for (chunk : chunks) send(stream.push(chunk));  send(stream.finish());
//
//   redact_json_fields(body, parse_json_field_paths("messages.*.content"), redactor);
//
// What each policy asks for is in pii_policy.h; the detectors and their checks in docs/privacy.md.
#pragma once
#include "gateway/pii_config.h"
#include "gateway/pii_detector.h"
#include "gateway/pii_json.h"
#include "gateway/pii_policy.h"
#include "gateway/pii_redactor.h"
#include "gateway/pii_span.h"
