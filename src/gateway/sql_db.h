// The SQL database behind the key store and the usage ledger: a SQLite file (one host) or
// PostgreSQL (several gateway replicas on several hosts). The stores write one dialect that both
// accept: parameters ?1, ?2, ...; BIGINT columns; upserts with ON CONFLICT ... DO UPDATE/NOTHING.
// Errors throw std::runtime_error; BackendUnavailable (gateway/outage.h) when a server cannot be
// reached, so that the gateway answers 503.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace citadel {

class SqlDb {
 public:
  using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;
  using Row = std::vector<Value>;
  virtual ~SqlDb() = default;

  // Runs one statement with bound parameters (?1, ?2, ...); returns its rows.
  virtual std::vector<Row> query(const std::string& sql, const std::vector<Value>& params = {}) = 0;
  // Runs one statement that writes; returns the number of rows it changed.
  virtual int64_t execute(const std::string& sql, const std::vector<Value>& params = {}) = 0;
  // Runs fn's statements as one transaction that no other connection, process or host can
  // interleave with another transaction() (COMMIT, or ROLLBACK if fn throws): read-check-write.
  virtual void transaction(const std::function<void()>& fn) = 0;
  // For migrations of tables made by an older version.
  virtual bool has_column(const std::string& table, const std::string& column) = 0;
  // For messages and logs: the file, or the URL without its password.
  virtual std::string describe() const = 0;
};

// "postgresql://..." or "postgres://..." (libpq's URI form): PostgreSQL; anything else is the path
// of a SQLite file. Throws std::runtime_error for a file that cannot be opened.
std::unique_ptr<SqlDb> open_sql_db(const std::string& location);
bool is_postgres_url(const std::string& location);
// The location with any password replaced by "***" (safe to print).
std::string redact_db_location(const std::string& location);

// Column accessors for rows of query(): NULL reads as 0 / "".
int64_t as_int(const SqlDb::Value& v);
std::string as_text(const SqlDb::Value& v);

}  // namespace citadel
