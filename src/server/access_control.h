// The gateway at the HTTP edge: which access each route needs, and the checks each request
// passes (server/ calls gateway/ here and nowhere else). Internal to server/.
//   pre-routing   pass_gateway(): key (401), role (403), audit trail writable (503)
//   model_for()   admit_to_model(): the key's models (403) and quotas (429, Retry-After)
//   logger        finish_gateway(): tokens settled into the quotas, the audit line written
#pragma once
#include <memory>
#include <string>

#include "engine/request.h"
#include "gateway/role.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace citadel {

class RequestStream;
class RouteContext;
struct GatewayOptions;
struct ServedModel;
struct ServerConfig;

// The gateway's settings from the server's (the HMAC key read from its file); throws
// std::runtime_error when that file cannot be read or is empty.
GatewayOptions gateway_options(const ServerConfig& config);
// Whether the config turns on any part of the gateway (keys, audit, a PII policy, the cache).
bool gateway_wanted(const ServerConfig& config);

Access route_access(const std::string& method, const std::string& path);

// False when the request was refused (the response is then filled in).
bool pass_gateway(RouteContext& ctx, const httplib::Request& req, httplib::Response& res);
// Throws ApiError (403, 429) when the caller may not use the model now; else sets the request's
// PII policy (the model's and the key's).
void admit_to_model(const RouteContext& ctx, const std::string& model_id);
// A prompt text as the model should see it: PII replaced by placeholders under redact-input and
// redact-both, else as it is.
std::string model_input_text(const std::string& text);
// Submits one generation through the response cache (a hit replays the stored answer; a miss is
// recorded and stored when the request ends) and puts the PII policy's filter on what the caller
// reads (placeholders restored, or the model's own PII redacted). `constraint`: a fingerprint of
// the output constraint ("" if none). Throws as Engine::submit.
std::shared_ptr<RequestStream> submit_through_gateway(ServedModel& m, GenerationRequest r, const std::string& constraint);
void finish_gateway(const RouteContext& ctx, const httplib::Request& req, const httplib::Response& res, double seconds,
                    const std::string& model);

}  // namespace citadel
