// The audit trail: one JSON line per API call, appended to a file (--audit-log), each line
// carrying its sequence number and the SHA-256 of the previous line, so that editing, deleting
// or reordering a line breaks the chain (`citadel audit verify`). FILE.head records the last
// line's sequence number and hash, so that cutting lines off the end is detected as well. Files
// rotate by size into FILE.000001, FILE.000002, ... and the chain runs on across them.
//
// Durability: one writer thread appends in order; whatever has queued since its last write goes
// out in one write(2) followed by fdatasync (group commit), at most one sync per 5 ms, so a crash
// loses at most the batch in flight: the calls answered in the last 5 ms or so. A torn
// last line is cut at the next start. A batch that cannot be written stays queued and is retried
// every 200 ms; meanwhile the log reports itself unhealthy, and the server refuses requests with
// 503 (fail closed) by default.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace citadel {

struct AuditLogOptions {
  std::string path;
  int64_t max_bytes = 256LL << 20;  // rotate when a file would pass this size
  bool fsync = true;                // false: the OS flushes (a crash may lose more)
};

class AuditLog {
 public:
  // Opens (creating with mode 0600) and continues the chain from the last line on disk, cutting a
  // torn last line. Throws std::runtime_error when the file cannot be opened or read.
  explicit AuditLog(AuditLogOptions options);
  ~AuditLog();  // writes what is queued (once more if it fails), then stops the writer
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues the event; its line gets "citadel.audit" {seq, prev}. Blocks while 100000 lines wait
  // (back-pressure). Returns healthy().
  bool append(nlohmann::json event);
  // Waits until every queued line is written (true) or a write has failed (false).
  bool flush();
  bool healthy() const;  // false from a failed write until a retry succeeds
  int64_t write_failures() const;
  int64_t next_seq() const;  // of the next line written

 private:
  void writer_loop();
  bool write_batch(const std::vector<nlohmann::json>& batch);  // writer thread only
  bool write_out(const std::string& lines);                     // one write + fdatasync
  void open_file();
  void rotate();

  AuditLogOptions opt_;
  // Writer-thread state.
  int fd_ = -1, head_fd_ = -1;
  int64_t size_ = 0;
  bool regular_ = true;
  // Shared state, under mu_.
  mutable std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<nlohmann::json> queue_;
  size_t in_flight_ = 0;      // events the writer has taken and not yet written
  int64_t seq_ = 0;           // of the next line
  std::string prev_hash_;     // SHA-256 of the last line written
  bool healthy_ = true, stopping_ = false;
  int64_t failures_ = 0;
  std::thread writer_;
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
