// citadel serve: the HTTP server (OpenAI-compatible API, /generate, chat page).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <thread>

#include "core/model_key.h"
#include "gateway/sql_db.h"
#include "server/http_server.h"
#include "tools/tool.h"
#include "tools/tool_support.h"

namespace citadel {
namespace {

HttpServer* g_server = nullptr;
volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_reload = 0;  // SIGHUP: reload the TLS certificate

int run_serve(int argc, char** argv) {
  CLI::App app{"Serve models over HTTP: OpenAI-compatible /v1/chat/completions, /v1/completions,\n"
               "/v1/embeddings, /v1/models, the simple POST /generate, /tokenize, /detokenize, /health,\n"
               "and a chat page at /. Settings: defaults < --config file < CITADEL_* environment < flags.",
               "citadel serve"};
  std::string config_path, model_path, model_id;
  ServerConfig flags;
  app.add_option("--config", config_path, "YAML config file (see docs/serving.md)");
  app.add_option("-m,--model", model_path, "GGUF model file (default: the bundled demo model)");
  app.add_option("--model-id", model_id, "id clients use for --model (default: its file name)");
  std::string mmproj;
  app.add_option("--mmproj", mmproj, "vision projector (llama.cpp's LLaVA-1.5 mmproj GGUF) for the first model run "
                                     "here: it takes images (docs/multimodal.md)");
  std::vector<std::string> lora_flags;
  app.add_option("--lora", lora_flags,
                 "NAME=FILE[:SCALE]: serve a LoRA adapter over the first model run here (not forwarded) as \"<model-id>:NAME\" (repeatable)");
  auto* host = app.add_option("--host", flags.host, "address to listen on")->capture_default_str();
  auto* port = app.add_option("--port", flags.port, "port (0: any free port)")->capture_default_str();
  auto* parallel = app.add_option("--parallel", flags.parallel, "sequences decoded together per model")->capture_default_str();
  auto* context = app.add_option("-c,--context", flags.context, "positions per sequence (default: the model's)");
  auto* threads = app.add_option("-t,--threads", flags.threads, "compute threads (default: all cores)");
  auto* queue = app.add_option("--max-queue", flags.max_queue, "waiting requests before 503")->capture_default_str();
  auto* timeout = app.add_option("--request-timeout", flags.request_timeout, "seconds per request")->capture_default_str();
  auto* body = app.add_option("--max-body-bytes", flags.max_body_bytes, "request body limit (413 above)")->capture_default_str();
  auto* metrics_key = app.add_option("--metrics-key", flags.metrics_key, "require Authorization: Bearer <key> on GET /metrics");
  auto* kv_type = app.add_option("--kv-cache-type", flags.kv_cache_type, "KV cache values: f32 (exact) or f16 (half the memory)")
                      ->capture_default_str();
  auto* log_format = app.add_option("--log-format", flags.log_format, "request logs on stderr: text (none) or json (one line per request)")
                         ->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  auto* tls_cert = app.add_option("--tls-cert", flags.tls_cert, "HTTPS: PEM certificate chain (reloaded on SIGHUP)");
  auto* tls_key = app.add_option("--tls-key", flags.tls_key, "HTTPS: PEM private key of --tls-cert");
  auto* tls_ca = app.add_option("--tls-client-ca", flags.tls_client_ca, "require client certificates signed by this CA (mTLS)");
  auto* tls_min = app.add_option("--tls-min-version", flags.tls_min_version, "oldest TLS version accepted")
                      ->check(CLI::IsMember({"1.2", "1.3"}))->capture_default_str();
  auto* auth_db = app.add_option("--auth-db", flags.auth_db,
                                 "API keys, roles and quotas (`citadel keys`): a SQLite file, or postgresql://USER:PW@HOST:PORT/DB "
                                 "shared by gateway replicas; every route but /health needs a key");
  auto* redis_url = app.add_option("--redis-url", flags.redis_url,
                                   "count rate limits and quotas in Redis (redis://HOST[:PORT][/DB]), exact across gateway "
                                   "replicas (with --auth-db); Redis down: 503 for keys with limits");
  auto* metrics_open = app.add_flag("--metrics-open", flags.metrics_open, "with --auth-db: GET /metrics without a key");
  auto* audit_log = app.add_option("--audit-log", flags.audit_log, "append a hash-chained audit line per API call to FILE");
  auto* audit_content = app.add_option("--audit-content", flags.audit_content,
                                       "what the audit keeps of prompts and answers: none, hmac or text")
                            ->check(CLI::IsMember({"none", "hmac", "text"}))->capture_default_str();
  auto* audit_hmac = app.add_option("--audit-hmac-key-file", flags.audit_hmac_key_file, "the secret for --audit-content hmac");
  auto* audit_failure = app.add_option("--audit-on-failure", flags.audit_on_failure,
                                       "when the trail cannot be written: refuse (503, default) or continue")
                            ->check(CLI::IsMember({"refuse", "continue"}))->capture_default_str();
  auto* pii_policy = app.add_option("--pii-policy", flags.pii_policy,
                                    "PII policy of every model: off, log-only, redact-input, redact-both (docs/privacy.md)")
                         ->check(CLI::IsMember({"off", "log-only", "redact-input", "redact-both"}));
  std::string pii_config_file;
  app.add_option("--pii-config", pii_config_file, "JSON file of PII detectors, dictionaries and regexes")
      ->check(CLI::ExistingFile);
  auto* cache = app.add_option("--cache", flags.cache, "response cache: memory or redis://HOST[:PORT][/DB] (docs/cache.md)");
  auto* cache_ttl = app.add_option("--cache-ttl", flags.cache_ttl, "seconds a cached answer lives")->capture_default_str();
  add_model_key_option(app);
  CLI11_PARSE(app, argc, argv);

  ServerConfig config;
  if (!config_path.empty()) config.load_yaml(config_path);
  config.load_env();
  if (*host) config.host = flags.host;
  if (*port) config.port = flags.port;
  if (*parallel) config.parallel = flags.parallel;
  if (*context) config.context = flags.context;
  if (*threads) config.threads = flags.threads;
  if (*queue) config.max_queue = flags.max_queue;
  if (*timeout) config.request_timeout = flags.request_timeout;
  if (*body) config.max_body_bytes = flags.max_body_bytes;
  if (*metrics_key) config.metrics_key = flags.metrics_key;
  if (*log_format) config.log_format = flags.log_format;
  if (*kv_type) config.kv_cache_type = flags.kv_cache_type;
  if (*pii_policy) config.pii_policy = flags.pii_policy;
  if (!pii_config_file.empty()) {
    std::ifstream in(pii_config_file);
    config.pii_config_json.assign(std::istreambuf_iterator<char>(in), {});
    const size_t slash = pii_config_file.find_last_of('/');
    config.pii_config_dir = slash == std::string::npos ? "." : pii_config_file.substr(0, slash);
  }
  if (*cache) config.cache = flags.cache;
  if (*cache_ttl) config.cache_ttl = flags.cache_ttl;
  if (*auth_db) config.auth_db = flags.auth_db;
  if (*redis_url) config.redis_url = flags.redis_url;
  if (*metrics_open) config.metrics_open = flags.metrics_open;
  if (*audit_log) config.audit_log = flags.audit_log;
  if (*audit_content) config.audit_content = flags.audit_content;
  if (*audit_hmac) config.audit_hmac_key_file = flags.audit_hmac_key_file;
  if (*audit_failure) config.audit_on_failure = flags.audit_on_failure;
  if (*tls_cert) config.tls_cert = flags.tls_cert;
  if (*tls_key) config.tls_key = flags.tls_key;
  if (*tls_ca) config.tls_client_ca = flags.tls_client_ca;
  if (*tls_min) config.tls_min_version = flags.tls_min_version;
  // --model-key-file (add_model_key_option) wins over model_key_file from the config / environment.
  if (!app.count("--model-key-file") && !config.model_key_file.empty()) set_model_key_file(config.model_key_file);
  if (!model_path.empty()) config.models = {{model_id, model_path, 0, 0}};
  if (config.models.empty()) config.models = {{model_id, default_model_path(), 0, 0}};
  for (const std::string& f : lora_flags) {
    const size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == f.size())
      throw std::invalid_argument("--lora '" + f + "' must be NAME=FILE[:SCALE]");
    // Onto the first model run here: a model with upstreams has its adapters on its engines.
    auto local = std::find_if(config.models.begin(), config.models.end(), [](const ModelConfig& m) { return !m.remote(); });
    if (local == config.models.end())
      throw std::invalid_argument("--lora: every model is forwarded to upstream engines; serve adapters on those engines");
    local->lora.emplace_back(f.substr(0, eq), f.substr(eq + 1));
  }
  if (!mmproj.empty()) {
    bool set = false;
    for (ModelConfig& m : config.models)
      if (!m.remote() && !set) m.mmproj = mmproj, set = true;
    if (!set) throw std::invalid_argument("--mmproj: every model is forwarded to upstream engines");
  }
  config.validate();

  HttpServer server(config);
  server.bind();
  g_server = &server;
  std::signal(SIGTERM, [](int s) { g_signal = s; });
  std::signal(SIGINT, [](int s) { g_signal = s; });
  std::signal(SIGHUP, [](int) { g_reload = 1; });
  std::signal(SIGPIPE, SIG_IGN);
  const bool tls = !config.tls_cert.empty();
  std::fprintf(stderr, "citadel: listening on %s://%s:%d (loading %zu model%s)\n", tls ? "https" : "http",
               config.host.c_str(), server.port(), config.models.size(), config.models.size() == 1 ? "" : "s");
  if (tls) std::fprintf(stderr, "citadel: TLS certificate %s\n", server.tls_description().c_str());
  if (config.auth_db.empty())
    std::fprintf(stderr, "citadel: OPEN: no --auth-db, so every client may use every route without a key\n");
  else
    std::fprintf(stderr, "citadel: API keys required (key database %s)\n", redact_db_location(config.auth_db).c_str());
  if (!config.redis_url.empty())
    std::fprintf(stderr, config.auth_db.empty() ? "citadel: redis_url %s is unused: without --auth-db there are no keys to limit\n"
                                                : "citadel: rate limits and quotas counted in Redis %s\n",
                 config.redis_url.c_str());
  if (!config.audit_log.empty())
    std::fprintf(stderr, "citadel: audit trail %s (content: %s, on write failure: %s)\n", config.audit_log.c_str(),
                 config.audit_content.c_str(), config.audit_on_failure.c_str());
  if (config.pii_policy != "off") std::fprintf(stderr, "citadel: PII policy %s\n", config.pii_policy.c_str());
  if (!config.cache.empty())
    std::fprintf(stderr, "citadel: response cache %s (ttl %lld s)\n", config.cache.c_str(), static_cast<long long>(config.cache_ttl));

  std::thread http([&] { server.serve(); });
  int rc = 0;
  try {
    server.load_models();
    for (const auto& m : config.models) {
      if (m.remote()) {
        std::string urls;
        for (const auto& u : m.upstreams) urls += (urls.empty() ? "" : ", ") + u;
        std::fprintf(stderr, "citadel: model '%s' forwarded to %s (affinity %s)\n", m.id.c_str(), urls.c_str(), m.affinity.c_str());
        continue;
      }
      std::fprintf(stderr, "citadel: model '%s' ready (%s)\n", m.id.c_str(), m.path.c_str());
      for (const auto& [name, file] : m.lora)
        std::fprintf(stderr, "citadel: adapter '%s:%s' ready (%s)\n", m.id.c_str(), name.c_str(), file.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "citadel serve: error: %s\n", e.what());
    server.stop();
    http.join();
    return 1;
  }
  // Signals only set a flag; this thread does the draining.
  while (!g_signal) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!g_reload) continue;
    g_reload = 0;
    try {
      std::fprintf(stderr, "citadel: SIGHUP: TLS certificate reloaded: %s\n", server.reload_tls().c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "citadel: SIGHUP: %s (the certificate in use stays)\n", e.what());
    }
  }
  std::fprintf(stderr, "citadel: signal %d, draining\n", static_cast<int>(g_signal));
  server.drain_and_stop();
  http.join();
  g_server = nullptr;
  std::fprintf(stderr, "citadel: stopped\n");
  return rc;
}

const ToolRegistration reg{"serve", "run the HTTP server (OpenAI-compatible API)", run_serve};

}  // namespace
}  // namespace citadel
