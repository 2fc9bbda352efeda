// What the route handlers share: the loaded models and the server's state. Internal to server/.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/served_model.h"
#include "server/server_config.h"

namespace httplib {
class Server;
}

namespace citadel {

class Gateway;

class RouteContext {
 public:
  explicit RouteContext(const ServerConfig& c) : config(c) {}

  const ServerConfig& config;
  std::vector<std::unique_ptr<ServedModel>> models;  // set once loading completes
  std::atomic<bool> ready{false};
  std::atomic<bool> draining{false};
  std::atomic<int64_t> in_flight{0};
  Gateway* gateway = nullptr;  // keys, quotas, audit (server/access_control.h); null: none configured

  // The model named by the body's "model" (the first one when absent); "<model>:<adapter>" names
  // one of its LoRA adapters (set in current_request()). 404 if unknown, 503 while loading.
  ServedModel& model_for(const nlohmann::json& body) const;
  std::chrono::steady_clock::time_point deadline() const {
    return std::chrono::steady_clock::now() +
           std::chrono::milliseconds(static_cast<int64_t>(config.request_timeout * 1000));
  }
};

// Route groups, each in its own file.
void register_completion_routes(httplib::Server& http, RouteContext& ctx);  // chat, completions, generate
void register_utility_routes(httplib::Server& http, RouteContext& ctx);     // models, tokenize, embeddings, health, page
void register_anthropic_routes(httplib::Server& http, RouteContext& ctx);   // /v1/messages, count_tokens
void register_responses_routes(httplib::Server& http, RouteContext& ctx);   // /v1/responses
void register_ollama_routes(httplib::Server& http, RouteContext& ctx);      // /api/... (Ollama)
void register_admin_routes(httplib::Server& http, RouteContext& ctx);       // keys, usage, audit (keys on)
void register_adapter_routes(httplib::Server& http, RouteContext& ctx);     // /admin/adapters: LoRA load/unload (keys on)

}  // namespace citadel
