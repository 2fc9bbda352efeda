// A SQLite database file shared by the gateway's stores: WAL journal (readers never block the
// writer), a busy timeout (several server processes on one host take turns), foreign keys on.
// One connection per object, serialised by its own mutex; each SQL text is prepared once.
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/sql_db.h"

struct sqlite3;
struct sqlite3_stmt;

namespace citadel {

class SqliteDb : public SqlDb {
 public:
  // Opens (creating if needed) and sets the pragmas; throws std::runtime_error naming the file.
  explicit SqliteDb(const std::string& path);
  ~SqliteDb() override;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  std::vector<Row> query(const std::string& sql, const std::vector<Value>& params = {}) override;
  int64_t execute(const std::string& sql, const std::vector<Value>& params = {}) override;
  // BEGIN IMMEDIATE .. COMMIT, holding the mutex: other processes wait for the file's write lock.
  void transaction(const std::function<void()>& fn) override;
  bool has_column(const std::string& table, const std::string& column) override;
  std::string describe() const override { return path_; }
  const std::string& path() const { return path_; }

 private:
  std::vector<Row> run(const std::string& sql, const std::vector<Value>& params);
  std::string path_;
  sqlite3* db_ = nullptr;
  std::recursive_mutex mu_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;  // prepared once per SQL text
};

}  // namespace citadel
