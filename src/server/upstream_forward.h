// Models served by other engines (a model with `upstreams:` instead of `path:`): the request has
// passed the gateway here (key, quotas, PII policy), and is sent on to an upstream (another
// Citadel, vLLM, TGI, llama-server) chosen by the pool (gateway/upstream_pool.h), streamed back
// chunk by chunk. Internal to server/.
//
//   - /v1/chat/completions, /v1/completions, /v1/embeddings go as they are (the model renamed to the
//     upstream's name); /generate goes as /v1/completions and comes back in /generate's shape.
//   - A request is tried on another upstream only while nothing has been sent to the client; all
//     down (or none left) answers 503 with Retry-After at once. A stream cut by a dying upstream
//     ends with an error event, never silently.
//   - The usage the upstream reports feeds quotas, the audit trail and metrics (streams ask the
//     upstream for it and drop that chunk when the client did not ask).
//   - The PII policy and the response cache apply as for local models.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/upstream_pool.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace citadel {

class RouteContext;
struct ModelConfig;
struct ServedModel;

struct UpstreamModel {
  std::unique_ptr<UpstreamPool> pool;
  std::string model;    // the name the upstreams know it by
  std::string api_key;  // sent as Authorization: Bearer to the upstreams ("" : none)
  double read_timeout = 600;
};

// The upstream side of a configured model; throws std::runtime_error (a key file that cannot be
// read, a missing environment variable) or std::invalid_argument (a bad URL).
std::shared_ptr<UpstreamModel> make_upstream_model(const ModelConfig& mc);

// Sends the request to m's upstreams and writes the answer to `res`. m must be remote.
void forward_to_upstream(RouteContext& ctx, ServedModel& m, const httplib::Request& req, httplib::Response& res,
                         const nlohmann::json& body);

// Whether a route can be forwarded (the OpenAI routes and /generate); model_for refuses the others
// for remote models with a 400 naming these.
bool forwardable_path(const std::string& path);

}  // namespace citadel
