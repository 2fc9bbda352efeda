// PostgreSQL through libpq, for gateway replicas on several hosts sharing keys and usage
// (auth_db: postgresql://user:password@host:port/db). A small pool of connections, one per
// concurrent caller, each opened with a connect timeout and TCP keepalives. A connection found
// dropped (server restart, failover) is replaced and the statement tried once more on a fresh
// one; when the server cannot be reached, calls throw BackendUnavailable at once for the next
// second (one log line per outage) and the gateway answers 503. Statements are parameterised
// only (PQexecParams); transactions take one cluster-wide advisory lock, so a read-check-write
// never interleaves with another replica's (the counterpart of SQLite's BEGIN IMMEDIATE).
#pragma once
#include <mutex>
#include <string>
#include <vector>

#include "gateway/outage.h"
#include "gateway/sql_db.h"

typedef struct pg_conn PGconn;

namespace citadel {

class PostgresDb : public SqlDb {
 public:
  // Connects lazily: a server that is down at start is tried again on first use.
  explicit PostgresDb(const std::string& url);
  ~PostgresDb() override;
  PostgresDb(const PostgresDb&) = delete;
  PostgresDb& operator=(const PostgresDb&) = delete;

  std::vector<Row> query(const std::string& sql, const std::vector<Value>& params = {}) override;
  int64_t execute(const std::string& sql, const std::vector<Value>& params = {}) override;
  void transaction(const std::function<void()>& fn) override;
  bool has_column(const std::string& table, const std::string& column) override;
  std::string describe() const override { return shown_; }

 private:
  std::vector<Row> run(const std::string& sql, const std::vector<Value>& params, int64_t* changed);
  std::vector<Row> run_on(PGconn* c, const std::string& sql, const std::vector<Value>& params, int64_t* changed);
  PGconn* checkout();
  void checkin(PGconn* c);
  void drop_idle();  // after one dropped connection the others are likely dropped too
  std::string url_, shown_;
  std::mutex mu_;
  std::vector<PGconn*> idle_;
  Outage outage_;
};

// SQL with ?1, ?2, ... (outside quoted text) rewritten to PostgreSQL's $1, $2, ...
std::string postgres_placeholders(const std::string& sql);

}  // namespace citadel
