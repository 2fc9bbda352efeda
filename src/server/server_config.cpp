#include "server/server_config.h"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <stdexcept>

#include "engine/adapter_registry.h"
#include "gateway/redis_pool.h"

namespace citadel {
namespace {

template <typename T>
void read(const YAML::Node& node, const char* key, T& out, const std::string& file) {
  if (!node[key]) return;
  try {
    out = node[key].as<T>();
  } catch (const YAML::Exception&) {
    throw std::runtime_error("config '" + file + "': key '" + key + "' has the wrong type");
  }
}

// A YAML node as JSON: scalars that read as numbers or booleans become those, the rest strings.
nlohmann::json yaml_to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& kv : n) j[kv.first.as<std::string>()] = yaml_to_json(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& v : n) j.push_back(yaml_to_json(v));
    return j;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string s = n.Scalar();
  if (n.Tag() != "!") {  // unquoted: YAML's own reading of numbers and booleans
    bool b;
    if (YAML::convert<bool>::decode(n, b) && (s == "true" || s == "false")) return b;
    int64_t i;
    if (YAML::convert<int64_t>::decode(n, i)) return i;
    double d;
    if (YAML::convert<double>::decode(n, d)) return d;
  }
  return s;
}

std::string model_id_from_path(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  if (name.size() > 5 && name.compare(name.size() - 5, 5, ".gguf") == 0) name.resize(name.size() - 5);
  return name.empty() ? "model" : name;
}

}  // namespace

void ServerConfig::load_yaml(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("cannot read config '" + path + "': " + e.what());
  }
  if (!root.IsMap()) throw std::runtime_error("config '" + path + "' must be a mapping of keys");
  static const char* known[] = {"host", "port", "parallel", "context", "threads", "max_queue", "batch_tokens",
                                "request_timeout", "drain_timeout", "max_body_bytes", "http_threads", "models",
                                "metrics_key", "log_format", "kv_cache_type",
                                "tls_cert", "tls_key", "tls_client_ca", "tls_min_version", "model_key_file",
                                "auth_db", "redis_url", "metrics_open", "audit_log", "audit_max_bytes", "audit_fsync",
                                "audit_on_failure", "audit_content", "audit_hmac_key_file", "pii", "cache",
                                "cache_ttl", "cache_max_bytes", "cache_sampled"};
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) throw std::runtime_error("config '" + path + "': unknown key '" + key + "'");
  }
  read(root, "host", host, path);
  read(root, "port", port, path);
  read(root, "parallel", parallel, path);
  read(root, "context", context, path);
  read(root, "threads", threads, path);
  read(root, "max_queue", max_queue, path);
  read(root, "batch_tokens", batch_tokens, path);
  read(root, "request_timeout", request_timeout, path);
  read(root, "drain_timeout", drain_timeout, path);
  read(root, "max_body_bytes", max_body_bytes, path);
  read(root, "http_threads", http_threads, path);
  read(root, "metrics_key", metrics_key, path);
  read(root, "log_format", log_format, path);
  read(root, "kv_cache_type", kv_cache_type, path);
  read(root, "tls_cert", tls_cert, path);
  read(root, "tls_key", tls_key, path);
  read(root, "tls_client_ca", tls_client_ca, path);
  read(root, "tls_min_version", tls_min_version, path);
  read(root, "model_key_file", model_key_file, path);
  read(root, "auth_db", auth_db, path);
  read(root, "redis_url", redis_url, path);
  read(root, "metrics_open", metrics_open, path);
  read(root, "audit_log", audit_log, path);
  read(root, "audit_max_bytes", audit_max_bytes, path);
  read(root, "audit_fsync", audit_fsync, path);
  read(root, "audit_on_failure", audit_on_failure, path);
  read(root, "audit_content", audit_content, path);
  read(root, "audit_hmac_key_file", audit_hmac_key_file, path);
  read(root, "cache", cache, path);
  read(root, "cache_ttl", cache_ttl, path);
  read(root, "cache_max_bytes", cache_max_bytes, path);
  read(root, "cache_sampled", cache_sampled, path);
  if (const YAML::Node pii = root["pii"]) {
    if (!pii.IsMap()) throw std::runtime_error("config '" + path + "': 'pii' must be a mapping");
    nlohmann::json j = yaml_to_json(pii);
    if (j.contains("policy")) {
      if (!j["policy"].is_string()) throw std::runtime_error("config '" + path + "': 'pii.policy' must be a string");
      pii_policy = j["policy"].get<std::string>();
      j.erase("policy");
    }
    pii_config_json = j.dump();
    const size_t slash = path.find_last_of('/');
    pii_config_dir = slash == std::string::npos ? "." : path.substr(0, slash);
  }
  if (const YAML::Node list = root["models"]) {
    if (!list.IsSequence()) throw std::runtime_error("config '" + path + "': 'models' must be a list");
    for (const auto& m : list) {
      ModelConfig mc;
      read(m, "id", mc.id, path);
      read(m, "path", mc.path, path);
      read(m, "parallel", mc.parallel, path);
      read(m, "context", mc.context, path);
      read(m, "pii_policy", mc.pii_policy, path);
      read(m, "mmproj", mc.mmproj, path);
      if (const YAML::Node lora = m["lora"]) {  // {name: file[:scale], ...}
        if (!lora.IsMap()) throw std::runtime_error("config '" + path + "': 'lora' must map adapter names to files");
        for (const auto& a : lora) {
          if (!a.second.IsScalar()) throw std::runtime_error("config '" + path + "': the file of adapter '" +
                                                             a.first.as<std::string>() + "' must be a string");
          mc.lora.emplace_back(a.first.as<std::string>(), a.second.as<std::string>());
        }
      }
      if (const YAML::Node ups = m["upstreams"]) {
        if (!ups.IsSequence()) throw std::runtime_error("config '" + path + "': 'upstreams' must be a list of URLs");
        for (const auto& u : ups) mc.upstreams.push_back(u.as<std::string>());
      }
      read(m, "upstream_model", mc.upstream_model, path);
      read(m, "upstream_api_key_file", mc.upstream_api_key_file, path);
      read(m, "upstream_api_key_env", mc.upstream_api_key_env, path);
      read(m, "upstream_tls_ca", mc.upstream_tls_ca, path);
      read(m, "upstream_tls_cert", mc.upstream_tls_cert, path);
      read(m, "upstream_tls_key", mc.upstream_tls_key, path);
      read(m, "discover", mc.discover, path);
      read(m, "affinity", mc.affinity, path);
      read(m, "health_path", mc.health_path, path);
      read(m, "connect_timeout", mc.connect_timeout, path);
      read(m, "read_timeout", mc.read_timeout, path);
      read(m, "probe_interval", mc.probe_interval, path);
      if (m["upstream_api_key"])
        throw std::runtime_error("config '" + path + "': an upstream key does not belong in the YAML: "
                                 "use upstream_api_key_file or upstream_api_key_env");
      if (mc.path.empty() == mc.upstreams.empty())
        throw std::runtime_error("config '" + path + "': every model needs a 'path' or 'upstreams' (one of the two)");
      models.push_back(mc);
    }
  }
}

void ServerConfig::load_env() {
  auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
  };
  auto to_int = [](const char* name, const char* v) {
    char* end = nullptr;
    long long x = std::strtoll(v, &end, 10);
    if (!end || *end) throw std::invalid_argument(std::string(name) + "='" + v + "' is not an integer");
    return x;
  };
  if (auto v = env("CITADEL_HOST")) host = v;
  if (auto v = env("CITADEL_PORT")) port = static_cast<int>(to_int("CITADEL_PORT", v));
  if (auto v = env("CITADEL_PARALLEL")) parallel = static_cast<int32_t>(to_int("CITADEL_PARALLEL", v));
  if (auto v = env("CITADEL_CONTEXT")) context = to_int("CITADEL_CONTEXT", v);
  if (auto v = env("CITADEL_THREADS")) threads = static_cast<int32_t>(to_int("CITADEL_THREADS", v));
  if (auto v = env("CITADEL_MAX_QUEUE")) max_queue = static_cast<int32_t>(to_int("CITADEL_MAX_QUEUE", v));
  if (auto v = env("CITADEL_REQUEST_TIMEOUT")) request_timeout = static_cast<double>(to_int("CITADEL_REQUEST_TIMEOUT", v));
  if (auto v = env("CITADEL_METRICS_KEY")) metrics_key = v;
  if (auto v = env("CITADEL_KV_CACHE_TYPE")) kv_cache_type = v;
  if (auto v = env("CITADEL_MODEL_KEY_FILE")) model_key_file = v;
  if (auto v = env("CITADEL_AUTH_DB")) auth_db = v;
  if (auto v = env("CITADEL_REDIS_URL")) redis_url = v;
  if (auto v = env("CITADEL_AUDIT_LOG")) audit_log = v;
  if (auto v = env("CITADEL_MODEL")) {
    models.clear();
    models.push_back({"", v, 0, 0});
  }
}

void ServerConfig::validate() {
  if (port < 0 || port > 65535) throw std::invalid_argument("port " + std::to_string(port) + " is out of range");
  if (parallel < 1 || parallel > 1024) throw std::invalid_argument("parallel must be 1..1024");
  if (context < 0) throw std::invalid_argument("context must be >= 0");
  if (max_queue < 0) throw std::invalid_argument("max_queue must be >= 0");
  if (batch_tokens < 1) throw std::invalid_argument("batch_tokens must be >= 1");
  if (request_timeout <= 0) throw std::invalid_argument("request_timeout must be > 0");
  if (http_threads < 2) throw std::invalid_argument("http_threads must be >= 2");
  if (log_format != "text" && log_format != "json") throw std::invalid_argument("log_format must be text or json");
  if (kv_cache_type != "f32" && kv_cache_type != "f16") throw std::invalid_argument("kv_cache_type must be f32 or f16");
  if (tls_cert.empty() != tls_key.empty()) throw std::invalid_argument("TLS needs both tls_cert and tls_key");
  if (!tls_client_ca.empty() && tls_cert.empty())
    throw std::invalid_argument("tls_client_ca (mTLS) needs TLS: set tls_cert and tls_key");
  if (tls_min_version != "1.2" && tls_min_version != "1.3") throw std::invalid_argument("tls_min_version must be 1.2 or 1.3");
  if (audit_on_failure != "refuse" && audit_on_failure != "continue")
    throw std::invalid_argument("audit_on_failure must be refuse or continue");
  if (audit_content != "none" && audit_content != "hmac" && audit_content != "text")
    throw std::invalid_argument("audit_content must be none, hmac or text");
  if (audit_content == "hmac" && audit_hmac_key_file.empty())
    throw std::invalid_argument("audit_content: hmac needs audit_hmac_key_file (the HMAC secret)");
  if (audit_content != "none" && audit_log.empty()) throw std::invalid_argument("audit_content needs audit_log");
  if (audit_max_bytes < 4096) throw std::invalid_argument("audit_max_bytes must be at least 4096");
  static const char* kPolicies[] = {"off", "log-only", "redact-input", "redact-both"};
  auto check_policy = [](const std::string& p, const std::string& where) {
    for (const char* k : kPolicies)
      if (p == k) return;
    throw std::invalid_argument(where + " must be off, log-only, redact-input or redact-both (got '" + p + "')");
  };
  check_policy(pii_policy, "pii.policy");
  for (const auto& m : models)
    if (!m.pii_policy.empty()) check_policy(m.pii_policy, "the pii_policy of model '" + m.path + "'");
  if (!cache.empty() && cache != "memory" && cache.rfind("redis://", 0) != 0)
    throw std::invalid_argument("cache must be memory or redis://HOST[:PORT][/DB]");
  if (!redis_url.empty()) parse_redis_url(redis_url, "redis_url");  // throws for a malformed one
  if (cache_ttl <= 0) throw std::invalid_argument("cache_ttl must be positive");
  if (cache_max_bytes <= 0) throw std::invalid_argument("cache_max_bytes must be positive");
  for (auto& m : models) {
    if (m.remote()) {
      if (m.id.empty()) throw std::invalid_argument("a model with upstreams needs an id");
      if (m.discover != "none" && m.discover != "dns") throw std::invalid_argument("discover must be none or dns");
      if (m.affinity != "prefix" && m.affinity != "least-outstanding")
        throw std::invalid_argument("affinity must be prefix or least-outstanding");
      if (m.connect_timeout <= 0 || m.read_timeout <= 0 || m.probe_interval < 0)
        throw std::invalid_argument("the upstream timeouts must be positive");
      if (!m.lora.empty())
        throw std::invalid_argument("model '" + m.id + "' has upstreams: its LoRA adapters belong on the engines it forwards to");
    }
    if (m.id.empty()) m.id = model_id_from_path(m.path);
    for (size_t i = 0; i < m.lora.size(); ++i) {
      const std::string& name = m.lora[i].first;
      if (!AdapterRegistry::valid_name(name))
        throw std::invalid_argument("adapter name '" + name + "' must be 1 to 64 letters, digits, '.', '_' or '-'");
      for (size_t k = 0; k < i; ++k)
        if (m.lora[k].first == name) throw std::invalid_argument("model '" + m.id + "' has two adapters named '" + name + "'");
    }
    for (const auto& other : models)
      if (&other != &m && other.id == m.id) throw std::invalid_argument("two models share the id '" + m.id + "'");
  }
}

}  // namespace citadel
