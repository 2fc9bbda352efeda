// The audit trail: one JSON line per API call, appended to a file (--audit-log), each line
// carrying its sequence number and the SHA-256 of the previous line, so that editing, deleting
// or reordering a line breaks the chain (`citadel audit verify`). Lines are written with one
// write(2) each and, by default, fdatasync'd before the next is accepted: a crash loses at most
// the line in flight (a torn last line is cut at the next start). Files rotate by size into
// FILE.000001, FILE.000002, ... and the chain runs on across them. FILE.head records the last
// line's sequence number and hash, so that cutting lines off the end is detected as well.
//
// A line that cannot be written stays pending (in order) and the log reports itself unhealthy
// until a retry succeeds: the server then refuses requests with 503 (fail closed) by default.
#pragma once
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace citadel {

struct AuditLogOptions {
  std::string path;
  int64_t max_bytes = 256LL << 20;  // rotate when a file would pass this size
  bool fsync_each_line = true;      // false: the OS flushes (a crash may lose recent lines)
};

class AuditLog {
 public:
  // Opens (creating with mode 0600) and continues the chain from the last line on disk, cutting a
  // torn last line. Throws std::runtime_error when the file cannot be opened or read.
  explicit AuditLog(AuditLogOptions options);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends the event with "citadel.audit" {seq, prev} added. False when it (or an earlier
  // pending line) could not be written: it is kept and retried by the next append or retry().
  bool append(nlohmann::json event);
  // Writes pending lines; true when none is left.
  bool retry();
  bool healthy() const;
  int64_t write_failures() const;
  int64_t next_seq() const;

 private:
  bool write_pending();  // with mu_ held
  bool write_line(const std::string& line);
  void open_file();
  void rotate();

  AuditLogOptions opt_;
  mutable std::mutex mu_;
  int fd_ = -1;
  int64_t size_ = 0;
  bool regular_ = true;
  int64_t seq_ = 0;                   // of the next line
  std::string prev_hash_;             // SHA-256 of the last written line
  std::deque<nlohmann::json> pending_;
  int64_t failures_ = 0;
};

// The files of a trail in chain order: the rotated FILE.NNNNNN ones, then FILE itself.
std::vector<std::string> audit_trail_files(const std::string& path);

struct AuditVerifyResult {
  bool ok = true;
  int64_t lines = 0;      // lines checked
  std::string file;       // where the first problem is
  int64_t line = 0;       // its line number in that file (1-based)
  std::string problem;
};
// Checks the chain over the files in order (and the head record of the last one when present).
AuditVerifyResult verify_audit_trail(const std::vector<std::string>& files);

}  // namespace citadel
