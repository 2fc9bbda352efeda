#include "gateway/sqlite_db.h"

#include <sqlite3.h>

#include <stdexcept>

namespace citadel {

SqliteDb::SqliteDb(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("cannot open the database '" + path + "': " + why);
  }
  sqlite3_busy_timeout(db_, 10000);
  try {
    query("PRAGMA journal_mode=WAL");
    query("PRAGMA synchronous=NORMAL");  // WAL: a commit survives a process crash; an OS crash may lose the last ones
    query("PRAGMA foreign_keys=ON");
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, st] : statements_) sqlite3_finalize(st);
  sqlite3_close(db_);
}

std::vector<SqliteDb::Row> SqliteDb::query(const std::string& sql, const std::vector<Value>& params) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return run(sql, params);
}

std::vector<SqliteDb::Row> SqliteDb::run(const std::string& sql, const std::vector<Value>& params) {
  sqlite3_stmt*& st = statements_[sql];
  if (!st && sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &st,
                                nullptr) != SQLITE_OK) {
    statements_.erase(sql);
    throw std::runtime_error("database '" + path_ + "': " + sqlite3_errmsg(db_));
  }
  struct Reset {  // ready for the next use, bindings cleared, whatever happens here
    sqlite3_stmt* s;
    ~Reset() {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
    }
  } guard{st};
  for (size_t i = 0; i < params.size(); ++i) {
    const int at = static_cast<int>(i + 1);
    const Value& v = params[i];
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::nullptr_t>(v)) rc = sqlite3_bind_null(st, at);
    else if (const auto* n = std::get_if<int64_t>(&v)) rc = sqlite3_bind_int64(st, at, *n);
    else if (const auto* d = std::get_if<double>(&v)) rc = sqlite3_bind_double(st, at, *d);
    else {
      const std::string& s = std::get<std::string>(v);
      rc = sqlite3_bind_text(st, at, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) throw std::runtime_error("database '" + path_ + "': " + sqlite3_errmsg(db_));
  }
  std::vector<Row> rows;
  for (;;) {
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) throw std::runtime_error("database '" + path_ + "': " + sqlite3_errmsg(db_));
    Row row;
    for (int c = 0; c < sqlite3_column_count(st); ++c) {
      switch (sqlite3_column_type(st, c)) {
        case SQLITE_INTEGER: row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(st, c))); break;
        case SQLITE_FLOAT: row.emplace_back(sqlite3_column_double(st, c)); break;
        case SQLITE_NULL: row.emplace_back(nullptr); break;
        default: {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
          row.emplace_back(std::string(text ? text : "", static_cast<size_t>(sqlite3_column_bytes(st, c))));
        }
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

int64_t SqliteDb::execute(const std::string& sql, const std::vector<Value>& params) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  run(sql, params);
  return sqlite3_changes(db_);
}

void SqliteDb::transaction(const std::function<void()>& fn) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  run("BEGIN IMMEDIATE", {});
  try {
    fn();
  } catch (...) {
    try {
      run("ROLLBACK", {});
    } catch (...) {
    }
    throw;
  }
  run("COMMIT", {});
}

bool SqliteDb::has_column(const std::string& table, const std::string& column) {
  for (const auto& col : query("SELECT name FROM pragma_table_info(?1)", {table}))
    if (as_text(col[0]) == column) return true;
  return false;
}

}  // namespace citadel
