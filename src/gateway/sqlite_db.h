// A SQLite database file shared by the gateway's stores: WAL journal (readers never block the
// writer), a busy timeout (several server processes on one host take turns), foreign keys on.
// One connection per object, serialised by its own mutex; each SQL text is prepared once.
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace citadel {

class SqliteDb {
 public:
  // Opens (creating if needed) and sets the pragmas; throws std::runtime_error naming the file.
  explicit SqliteDb(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;
  using Row = std::vector<Value>;

  // Runs one statement with bound parameters (?1, ?2, ...); returns its rows. Throws on error.
  std::vector<Row> query(const std::string& sql, const std::vector<Value>& params = {});
  // Runs one statement that writes; returns the number of rows it changed.
  int64_t execute(const std::string& sql, const std::vector<Value>& params = {});
  // Runs fn inside BEGIN IMMEDIATE .. COMMIT (ROLLBACK if it throws), holding the mutex: a
  // read-check-write sequence that other processes cannot interleave.
  void transaction(const std::function<void()>& fn);
  const std::string& path() const { return path_; }

 private:
  std::vector<Row> run(const std::string& sql, const std::vector<Value>& params);
  std::string path_;
  sqlite3* db_ = nullptr;
  std::recursive_mutex mu_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;  // prepared once per SQL text
};

// Column accessors for rows of query(): NULL reads as 0 / "".
int64_t as_int(const SqliteDb::Value& v);
std::string as_text(const SqliteDb::Value& v);

}  // namespace citadel
