#include "gateway/postgres_db.h"

#include <libpq-fe.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace citadel {
namespace {

constexpr int64_t kTransactionLock = 0x43697461646c;  // "Citadl": the one advisory lock of transaction()
constexpr size_t kMaxIdle = 32;

// The connection of the transaction() running on this thread, if any: its statements go there.
thread_local const PostgresDb* tx_owner = nullptr;
thread_local PGconn* tx_conn = nullptr;

std::string trimmed(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  for (char& c : out)
    if (c == '\n') c = ' ';
  return out.empty() ? "unknown error" : out;
}

SqlDb::Value column_value(const PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col)) return nullptr;
  const char* text = PQgetvalue(r, row, col);
  switch (PQftype(r, col)) {
    case 20: case 21: case 23:  // int8, int2, int4
      return static_cast<int64_t>(std::strtoll(text, nullptr, 10));
    case 700: case 701: case 1700:  // float4, float8, numeric
      return std::strtod(text, nullptr);
    default:
      return std::string(text, static_cast<size_t>(PQgetlength(r, row, col)));
  }
}

}  // namespace

std::string postgres_placeholders(const std::string& sql) {
  std::string out;
  out.reserve(sql.size());
  bool quoted = false;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'') quoted = !quoted;  // '' inside a literal toggles twice: still quoted
    const bool param = !quoted && c == '?' && i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1]));
    out += param ? '$' : c;
  }
  return out;
}

PostgresDb::PostgresDb(const std::string& url)
    : url_(url), shown_(redact_db_location(url)),
      outage_("key database " + shown_, "requests that need it are refused with 503") {}

PostgresDb::~PostgresDb() { drop_idle(); }

void PostgresDb::drop_idle() {
  std::vector<PGconn*> idle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle.swap(idle_);
  }
  for (PGconn* c : idle) PQfinish(c);
}

PGconn* PostgresDb::checkout() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      PGconn* c = idle_.back();
      idle_.pop_back();
      return c;
    }
  }
  if (!outage_.may_try()) throw BackendUnavailable("the key database " + shown_ + " is unreachable");
  // Defaults first: the URL's own parameters (…?connect_timeout=10) override them.
  const char* keys[] = {"connect_timeout", "keepalives_idle", "keepalives_interval", "keepalives_count",
                        "tcp_user_timeout", "dbname", nullptr};
  const char* values[] = {"3", "10", "3", "3", "10000", url_.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 1);
  if (!c || PQstatus(c) != CONNECTION_OK) {
    const std::string why = c ? trimmed(PQerrorMessage(c)) : "out of memory";
    PQfinish(c);
    outage_.failed(why);
    throw BackendUnavailable("the key database " + shown_ + " is unreachable: " + why);
  }
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);  // "relation ... already exists, skipping"
  outage_.succeeded();
  return c;
}

void PostgresDb::checkin(PGconn* c) {
  if (PQtransactionStatus(c) != PQTRANS_IDLE) {  // never hand on a connection mid-transaction
    PQfinish(c);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < kMaxIdle) idle_.push_back(c);
  else PQfinish(c);
}

std::vector<SqlDb::Row> PostgresDb::run_on(PGconn* c, const std::string& sql, const std::vector<Value>& params,
                                           int64_t* changed) {
  std::vector<std::string> texts(params.size());
  std::vector<const char*> values(params.size(), nullptr);
  for (size_t i = 0; i < params.size(); ++i) {
    const Value& v = params[i];
    if (std::holds_alternative<std::nullptr_t>(v)) continue;
    if (const auto* n = std::get_if<int64_t>(&v)) texts[i] = std::to_string(*n);
    else if (const auto* d = std::get_if<double>(&v)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", *d);
      texts[i] = buf;
    } else texts[i] = std::get<std::string>(v);
    values[i] = texts[i].c_str();
  }
  PGresult* r = PQexecParams(c, postgres_placeholders(sql).c_str(), static_cast<int>(params.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  const ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    const std::string why = trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    PQclear(r);
    if (PQstatus(c) == CONNECTION_BAD) throw BackendUnavailable("the key database " + shown_ + " is unreachable: " + why);
    throw std::runtime_error("database " + shown_ + ": " + why);
  }
  std::vector<Row> rows;
  for (int i = 0; i < PQntuples(r); ++i) {
    Row row;
    for (int k = 0; k < PQnfields(r); ++k) row.push_back(column_value(r, i, k));
    rows.push_back(std::move(row));
  }
  if (changed) *changed = std::strtoll(PQcmdTuples(r), nullptr, 10);
  PQclear(r);
  return rows;
}

std::vector<SqlDb::Row> PostgresDb::run(const std::string& sql, const std::vector<Value>& params, int64_t* changed) {
  if (tx_owner == this) return run_on(tx_conn, sql, params, changed);
  for (int attempt = 0;; ++attempt) {
    PGconn* c = checkout();
    try {
      auto rows = run_on(c, sql, params, changed);
      checkin(c);
      return rows;
    } catch (const BackendUnavailable& e) {
      PQfinish(c);
      drop_idle();
      if (attempt == 1) {
        outage_.failed(e.what());
        throw;
      }
      // A pooled connection the server dropped: once more on a fresh one. (A statement that was
      // sent may have run before the drop; ours are single-statement upserts and reads.)
    } catch (...) {
      checkin(c);
      throw;
    }
  }
}

std::vector<SqlDb::Row> PostgresDb::query(const std::string& sql, const std::vector<Value>& params) {
  return run(sql, params, nullptr);
}

int64_t PostgresDb::execute(const std::string& sql, const std::vector<Value>& params) {
  int64_t changed = 0;
  run(sql, params, &changed);
  return changed;
}

void PostgresDb::transaction(const std::function<void()>& fn) {
  if (tx_owner == this) return fn();  // nested: part of the transaction already open
  PGconn* c = checkout();
  try {
    run_on(c, "BEGIN", {}, nullptr);
  } catch (const BackendUnavailable&) {  // a dropped pooled connection: once more on a fresh one
    PQfinish(c);
    drop_idle();
    c = checkout();
    try {
      run_on(c, "BEGIN", {}, nullptr);
    } catch (const BackendUnavailable& e) {
      PQfinish(c);
      outage_.failed(e.what());
      throw;
    }
  }
  tx_owner = this;
  tx_conn = c;
  try {
    run_on(c, "SELECT pg_advisory_xact_lock(?1)", {kTransactionLock}, nullptr);
    fn();
    run_on(c, "COMMIT", {}, nullptr);
  } catch (...) {
    tx_owner = nullptr;
    tx_conn = nullptr;
    if (PQstatus(c) == CONNECTION_OK) {
      PQclear(PQexec(c, "ROLLBACK"));
      checkin(c);
    } else {
      PQfinish(c);
    }
    throw;
  }
  tx_owner = nullptr;
  tx_conn = nullptr;
  checkin(c);
}

bool PostgresDb::has_column(const std::string& table, const std::string& column) {
  return !query("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = ?1 AND column_name = ?2",
                {table, column})
              .empty();
}

}  // namespace citadel
