// The gateway at the HTTP edge: which access each route needs, and the checks each request
// passes (server/ calls gateway/ here and nowhere else). Internal to server/.
//   pre-routing   pass_gateway(): key (401), role (403), audit trail writable (503)
//   model_for()   admit_to_model(): the key's models (403) and quotas (429, Retry-After)
//   logger        finish_gateway(): tokens settled into the quotas, the audit line written
#pragma once
#include <string>

#include "gateway/role.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace citadel {

class RouteContext;
struct GatewayOptions;
struct ServerConfig;

// The gateway's settings from the server's (the HMAC key read from its file); throws
// std::runtime_error when that file cannot be read or is empty.
GatewayOptions gateway_options(const ServerConfig& config);

Access route_access(const std::string& method, const std::string& path);

// False when the request was refused (the response is then filled in).
bool pass_gateway(RouteContext& ctx, const httplib::Request& req, httplib::Response& res);
// Throws ApiError (403, 429) when the caller may not use the model now.
void admit_to_model(const RouteContext& ctx, const std::string& model_id);
void finish_gateway(const RouteContext& ctx, const httplib::Request& req, const httplib::Response& res, double seconds,
                    const std::string& model);

}  // namespace citadel
