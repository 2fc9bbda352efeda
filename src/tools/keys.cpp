// citadel keys: API keys in the key database (--db: the SQLite file or postgresql:// URL that
// `serve --auth-db` reads): create,
// list, revoke, rotate, disable, enable, usage. A new key is printed once, on its own last line.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <sstream>

#include "gateway/key_store.h"
#include "gateway/quota_ledger.h"
#include "gateway/sql_db.h"
#include "tools/tool.h"

namespace citadel {
namespace {

std::vector<std::string> split_models(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string m; std::getline(in, m, ',');)
    if (!m.empty()) out.push_back(m);
  return out;
}

void print_key(const KeyRecord& k) {
  std::string models;
  for (const auto& m : k.models) models += (models.empty() ? "" : ",") + m;
  std::printf("%s  %-8s %-24s models=%s expires=%lld%s rpm=%lld tpm=%lld tokens/day=%lld pii=%s\n", k.id.c_str(),
              role_name(k.role), k.name.c_str(), models.empty() ? "*" : models.c_str(),
              static_cast<long long>(k.expires), k.disabled ? " DISABLED" : "",
              static_cast<long long>(k.quota.requests_per_minute), static_cast<long long>(k.quota.tokens_per_minute),
              static_cast<long long>(k.quota.tokens_per_day), k.pii_policy.empty() ? "(model's)" : k.pii_policy.c_str());
}

int run_keys(int argc, char** argv) {
  CLI::App app{"Manage API keys in the key database that `citadel serve --auth-db` reads\n"
               "(a SQLite file, or postgresql://USER:PASSWORD@HOST:PORT/DB shared by gateway replicas).\n"
               "Roles: admin (manage keys, read usage and audit), user (inference on its models),\n"
               "auditor (read usage and audit). Keys are shown once; only their SHA-256 is stored.",
               "citadel keys"};
  app.require_subcommand(1);
  std::string db_path, name, role = "user", models, expires, id, from, to, pii_policy;
  int64_t rpm = 0, tpm = 0, tpd = 0;
  bool json_out = false;
  auto db_option = [&](CLI::App* c) { c->add_option("--db", db_path, "key database: SQLite file or postgresql://USER:PW@HOST:PORT/DB")->required(); };

  CLI::App* create = app.add_subcommand("create", "create a key and print it (once) on the last line");
  db_option(create);
  create->add_option("--name", name, "who or what the key is for")->required();
  create->add_option("--role", role, "admin, user or auditor")->check(CLI::IsMember({"admin", "user", "auditor"}))
      ->capture_default_str();
  create->add_option("--models", models, "models the key may use, comma-separated (default: all)");
  create->add_option("--expires", expires, "lifetime: 30d, 12h, 90m, 3600s (default: never)");
  create->add_option("--rpm", rpm, "requests per minute (0: unlimited)")->check(CLI::NonNegativeNumber);
  create->add_option("--tpm", tpm, "tokens per minute, prompt + completion (0: unlimited)")->check(CLI::NonNegativeNumber);
  create->add_option("--tokens-per-day", tpd, "tokens per UTC day (0: unlimited)")->check(CLI::NonNegativeNumber);
  create->add_option("--pii-policy", pii_policy, "PII policy for this key's requests (default: the model's)")
      ->check(CLI::IsMember({"off", "log-only", "redact-input", "redact-both"}));
  CLI::App* list = app.add_subcommand("list", "list the keys (never the keys themselves)");
  db_option(list);
  list->add_flag("--json", json_out, "one JSON array");
  CLI::App* revoke = app.add_subcommand("revoke", "revoke a key for good (its usage history stays)");
  CLI::App* rotate = app.add_subcommand("rotate", "a new secret for a key (same id, role, models, quotas)");
  CLI::App* disable = app.add_subcommand("disable", "refuse a key with 403 until enabled");
  CLI::App* enable = app.add_subcommand("enable", "accept a disabled key again");
  for (CLI::App* c : {revoke, rotate, disable, enable}) {
    db_option(c);
    c->add_option("id", id, "the key's id (from `keys list`)")->required();
  }
  CLI::App* usage = app.add_subcommand("usage", "requests and tokens per key and UTC day");
  db_option(usage);
  usage->add_option("--key", id, "one key's id (default: every key)");
  usage->add_option("--from", from, "first day, YYYY-MM-DD");
  usage->add_option("--to", to, "last day, YYYY-MM-DD");
  usage->add_flag("--json", json_out, "one JSON array");
  CLI11_PARSE(app, argc, argv);

  const std::unique_ptr<SqlDb> db = open_sql_db(db_path);
  KeyStore keys(*db);
  QuotaLedger ledger(*db);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (*create) {
    KeySpec spec;
    spec.name = name;
    spec.role = parse_role(role);
    spec.models = split_models(models);
    spec.expires = parse_expiry(expires, now);
    spec.quota = {rpm, tpm, tpd};
    spec.pii_policy = pii_policy;
    auto [rec, key] = keys.create(spec, now);
    print_key(rec);
    std::fprintf(stderr, "The key is shown once; store it now:\n");
    std::printf("%s\n", key.c_str());
    return 0;
  }
  if (*list) {
    if (json_out) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& k : keys.list()) out.push_back(key_record_json(k));
      std::cout << out.dump(2) << "\n";
    } else {
      for (const auto& k : keys.list()) print_key(k);
    }
    return 0;
  }
  if (*usage) {
    const auto rows = ledger.usage(id, from, to);
    if (json_out) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& u : rows) out.push_back(day_usage_json(u));
      std::cout << out.dump(2) << "\n";
    } else {
      for (const auto& u : rows)
        std::printf("%s  %s  requests=%lld prompt_tokens=%lld completion_tokens=%lld refusals=%lld\n", u.day.c_str(),
                    u.key_id.c_str(), static_cast<long long>(u.requests), static_cast<long long>(u.prompt_tokens),
                    static_cast<long long>(u.completion_tokens), static_cast<long long>(u.refusals));
    }
    return 0;
  }
  auto missing = [&] {
    std::fprintf(stderr, "citadel keys: no key with id '%s'\n", id.c_str());
    return 1;
  };
  if (*revoke) return keys.revoke(id) ? (std::printf("revoked %s\n", id.c_str()), 0) : missing();
  if (*disable) return keys.set_disabled(id, true) ? (std::printf("disabled %s\n", id.c_str()), 0) : missing();
  if (*enable) return keys.set_disabled(id, false) ? (std::printf("enabled %s\n", id.c_str()), 0) : missing();
  if (*rotate) {
    const auto key = keys.rotate(id);
    if (!key) return missing();
    std::fprintf(stderr, "The old key no longer works. The new one is shown once; store it now:\n");
    std::printf("%s\n", key->c_str());
  }
  return 0;
}

const ToolRegistration reg{"keys", "manage API keys, roles and quotas (the database serve --auth-db reads)", run_keys};

}  // namespace
}  // namespace citadel
