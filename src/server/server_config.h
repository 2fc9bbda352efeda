// Server settings from, in increasing precedence: defaults, a YAML config file, environment
// variables (CITADEL_*), command-line flags. See docs/serving.md for every key.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace citadel {

struct ModelConfig {
  std::string id;       // the name clients use ("model": "...")
  std::string path;     // GGUF file
  int32_t parallel = 0;  // 0: the server-wide value
  int64_t context = 0;
  std::string pii_policy;  // "": the server's pii.policy
  // LoRA adapters served over this model: NAME -> FILE[:SCALE], requested as "<id>:<NAME>".
  std::vector<std::pair<std::string, std::string>> lora;
  std::string mmproj;  // LLaVA-1.5 vision projector (llama.cpp's mmproj GGUF): the model takes images
  // Instead of `path`: engines this server forwards to (docs/scale-out.md).
  std::vector<std::string> upstreams;     // OpenAI-compatible base URLs
  std::string upstream_model;             // the name the upstreams know the model by ("": the id)
  std::string upstream_api_key_file, upstream_api_key_env;  // a key to send them (never in the YAML)
  std::string upstream_tls_ca, upstream_tls_cert, upstream_tls_key;  // TLS / mTLS to https upstreams
  std::string discover = "none";          // "dns": every address of each upstream host, re-resolved
  std::string affinity = "prefix";        // or "least-outstanding"
  std::string health_path = "/health";
  double connect_timeout = 2, read_timeout = 600, probe_interval = 5;  // seconds
  bool remote() const { return !upstreams.empty(); }
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  int32_t parallel = 4;           // sequences per model decoded together
  int64_t context = 0;            // positions per sequence (0: the model's own)
  int32_t threads = 0;            // compute threads per model (0: all cores)
  int32_t max_queue = 64;         // waiting requests per model before 503
  int32_t batch_tokens = 256;     // tokens per forward pass
  double request_timeout = 600;   // seconds
  double drain_timeout = 30;      // seconds given to running requests on SIGTERM
  size_t max_body_bytes = 4 << 20;
  int32_t http_threads = 64;      // concurrent connections served
  std::string metrics_key;        // non-empty: GET /metrics needs "Authorization: Bearer <key>"
  std::string log_format = "text";  // "json": one JSON line per request on stderr
  std::string kv_cache_type = "f32";  // "f16": half the KV memory and attention traffic
  std::string tls_cert, tls_key;  // both set: HTTPS (PEM files, reloaded on SIGHUP)
  std::string tls_client_ca;      // set: clients need a certificate signed by this CA (mTLS)
  std::string tls_min_version = "1.3";  // "1.2" also allows TLS 1.2
  std::string model_key_file;     // key of encrypted models (core/encrypted_model.h)
  // The gateway (docs/security.md): keys, roles and quotas; the audit trail.
  std::string auth_db;            // key database, SQLite file or postgresql://...: every route but /health (and /) needs a key
  std::string redis_url;          // rate limits and quotas in Redis (redis://HOST[:PORT][/DB]); "": in auth_db
  bool metrics_open = false;      // with keys on: GET /metrics without a key
  std::string audit_log;          // audit trail file (one hash-chained JSON line per API call)
  int64_t audit_max_bytes = 256LL << 20;  // rotation size
  bool audit_fsync = true;        // fdatasync every line
  std::string audit_on_failure = "refuse";  // "continue": serve on when the trail cannot be written
  std::string audit_content = "none";       // "hmac" or "text": what is kept of prompts and answers
  std::string audit_hmac_key_file;          // the secret for audit_content: hmac
  // Privacy and frequent questions (docs/privacy.md, docs/cache.md).
  std::string pii_policy = "off";  // off | log-only | redact-input | redact-both (keys and models may say more)
  std::string pii_config_json;     // the pii: section (detectors, dictionaries, regexes) as JSON; "": defaults
  std::string pii_config_dir;      // where relative dictionary files are
  std::string cache;               // "": off; "memory" or "redis://HOST[:PORT][/DB]"
  int64_t cache_ttl = 3600;        // seconds
  int64_t cache_max_bytes = 256LL << 20;
  bool cache_sampled = false;      // also cache sampled answers without a fixed seed
  std::vector<ModelConfig> models;

  // Reads a YAML file; throws std::runtime_error naming the file and the bad key.
  void load_yaml(const std::string& path);
  // Applies CITADEL_HOST, CITADEL_PORT, CITADEL_MODEL, CITADEL_PARALLEL, CITADEL_CONTEXT,
  // CITADEL_THREADS, CITADEL_MAX_QUEUE, CITADEL_REQUEST_TIMEOUT, CITADEL_METRICS_KEY.
  void load_env();
  // Checks ranges; fills model ids from file names. Throws std::invalid_argument.
  void validate();
};

}  // namespace citadel
