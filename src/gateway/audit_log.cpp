#include "gateway/audit_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "gateway/digest.h"

namespace citadel {
namespace {

const std::string kGenesis(64, '0');  // the "previous hash" of the first line of a trail
constexpr size_t kMaxQueued = 100000;
constexpr std::chrono::milliseconds kSyncGap(5);

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

std::string base_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The last complete line of a regular file ("" when none).
std::string last_line(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  std::string text = read_all(path);
  const size_t end = text.rfind('\n');
  if (end == std::string::npos) return "";
  text.resize(end);  // drops a torn tail too
  const size_t begin = text.rfind('\n');
  return begin == std::string::npos ? text : text.substr(begin + 1);
}

void sync_dir(const std::string& path) {
  const int d = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0) {
    ::fsync(d);
    ::close(d);
  }
}

}  // namespace

std::vector<std::string> audit_trail_files(const std::string& path) {
  std::vector<std::string> rotated;
  const std::string base = base_of(path) + ".";
  if (DIR* d = ::opendir(dir_of(path).c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() != base.size() + 6 || name.compare(0, base.size(), base) != 0) continue;
      if (std::all_of(name.begin() + static_cast<long>(base.size()), name.end(), ::isdigit))
        rotated.push_back(dir_of(path) + "/" + name);
    }
    ::closedir(d);
  }
  std::sort(rotated.begin(), rotated.end());
  rotated.push_back(path);
  return rotated;
}

AuditLog::AuditLog(AuditLogOptions options) : opt_(std::move(options)) {
  // Cut a torn last line (a crash in the middle of a write): it is the one line a crash may lose.
  struct stat st{};
  if (::stat(opt_.path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    const std::string text = read_all(opt_.path);
    if (text.back() != '\n') {
      const size_t keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
      if (::truncate(opt_.path.c_str(), static_cast<off_t>(keep)) != 0)
        throw std::runtime_error("cannot repair the audit log '" + opt_.path + "': " + std::strerror(errno));
    }
  }
  // Continue the chain from the newest line of the trail.
  prev_hash_ = kGenesis;
  const std::vector<std::string> files = audit_trail_files(opt_.path);
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    const std::string line = last_line(*it);
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("citadel") || !j["citadel"].contains("audit"))
      throw std::runtime_error("the audit log '" + *it + "' does not end with an audit line");
    seq_ = j["citadel"]["audit"].value("seq", int64_t{0}) + 1;
    prev_hash_ = sha256_hex(line);
    break;
  }
  open_file();
  writer_ = std::thread([this] { writer_loop(); });
}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  writer_.join();
  if (fd_ >= 0) ::close(fd_);
  if (head_fd_ >= 0) ::close(head_fd_);
}

void AuditLog::open_file() {
  fd_ = ::open(opt_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw std::runtime_error("cannot open the audit log '" + opt_.path + "': " + std::strerror(errno));
  struct stat st{};
  ::fstat(fd_, &st);
  size_ = st.st_size;
  regular_ = S_ISREG(st.st_mode);  // a pipe or device (e.g. a FIFO read by a shipper) neither rotates nor has a head
}

void AuditLog::rotate() {
  const std::vector<std::string> files = audit_trail_files(opt_.path);
  int next = 1;
  if (files.size() > 1) next = std::stoi(files[files.size() - 2].substr(files[files.size() - 2].size() - 6)) + 1;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, ".%06d", next);
  ::close(fd_);
  fd_ = -1;
  if (::rename(opt_.path.c_str(), (opt_.path + suffix).c_str()) != 0)
    throw std::runtime_error(std::string("rename failed: ") + std::strerror(errno));
  sync_dir(opt_.path);
  open_file();
}

bool AuditLog::write_out(const std::string& lines) {
  if (lines.empty()) return true;
  size_t done = 0;
  while (done < lines.size()) {
    const ssize_t n = ::write(fd_, lines.data() + done, lines.size() - done);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      // Cut what went out of this batch so the next attempt starts on a line boundary.
      if (done > 0 && regular_ && ::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
        ::close(fd_);
        fd_ = -1;
      }
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (opt_.fsync && ::fdatasync(fd_) != 0 && regular_) return false;
  size_ += static_cast<int64_t>(lines.size());
  return true;
}

bool AuditLog::write_batch(const std::vector<nlohmann::json>& batch) {
  int64_t seq;
  std::string prev;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seq = seq_;
    prev = prev_hash_;
  }
  try {
    if (fd_ < 0) open_file();
    std::string out, last;
    for (nlohmann::json event : batch) {
      event["citadel"]["audit"] = {{"seq", seq}, {"prev", prev}};
      const std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      // Rotate at line boundaries: what is buffered goes to the current file first.
      if (regular_ && size_ + static_cast<int64_t>(out.size()) > 0 &&
          size_ + static_cast<int64_t>(out.size() + line.size() + 1) > opt_.max_bytes) {
        if (!write_out(out)) return false;
        out.clear();
        rotate();
      }
      out += line;
      out += '\n';
      prev = sha256_hex(line);
      ++seq;
    }
    if (!write_out(out)) return false;
  } catch (const std::exception&) {
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    seq_ = seq;
    prev_hash_ = prev;
  }
  if (regular_) {  // where the trail ends, so a cut tail shows (best effort, not synced)
    std::string head = "{\"seq\":" + std::to_string(seq - 1) + ",\"sha256\":\"" + prev + "\"}";
    head.resize(127, ' ');  // one fixed-size record, overwritten in place
    head += '\n';
    if (head_fd_ < 0) head_fd_ = ::open((opt_.path + ".head").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (head_fd_ >= 0) (void)!::pwrite(head_fd_, head.data(), head.size(), 0);
  }
  return true;
}

void AuditLog::writer_loop() {
  std::vector<nlohmann::json> batch;  // taken from the queue, written or retried as one
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return !queue_.empty() || !batch.empty() || stopping_; });
    while (!queue_.empty() && batch.size() < 4096) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (batch.empty()) return;  // stopping, nothing left
    in_flight_ = batch.size();
    lock.unlock();
    const bool ok = write_batch(batch);
    lock.lock();
    healthy_ = ok;
    if (ok) {
      batch.clear();
      in_flight_ = 0;
    } else {
      ++failures_;
    }
    done_cv_.notify_all();
    if (!ok) {
      if (stopping_) return;  // one more try was made at shutdown: the rest is lost, and counted
      work_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping_; });
    } else if (opt_.fsync) {
      // At most one fdatasync per kSyncGap: under load the next batch gathers what arrives meanwhile
      // (each sync cost more CPU than a request of the bundled model on a VM's disk).
      work_cv_.wait_for(lock, kSyncGap, [&] { return stopping_; });
    }
  }
}

bool AuditLog::append(nlohmann::json event) {
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return queue_.size() < kMaxQueued || stopping_; });
  queue_.push_back(std::move(event));
  work_cv_.notify_one();
  return healthy_;
}

bool AuditLog::flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t failures = failures_;
  done_cv_.wait(lock, [&] { return (queue_.empty() && in_flight_ == 0) || failures_ != failures; });
  return queue_.empty() && in_flight_ == 0;
}

bool AuditLog::healthy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return healthy_;
}

int64_t AuditLog::write_failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

int64_t AuditLog::next_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seq_;
}

AuditVerifyResult verify_audit_trail(const std::vector<std::string>& files) {
  AuditVerifyResult r;
  std::string prev;      // hash of the previous line; empty before the first
  int64_t expect_seq = -1;
  int64_t last_file_lines = 0;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      r = {false, r.lines, file, 0, "cannot be read"};
      return r;
    }
    std::string line;
    int64_t n = 0;
    auto fail = [&](const std::string& why) {
      r.ok = false;
      r.file = file;
      r.line = n;
      r.problem = why;
    };
    while (std::getline(in, line)) {
      ++n;
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("citadel") || !j["citadel"].is_object() ||
          !j["citadel"].contains("audit") || !j["citadel"]["audit"].is_object()) {
        fail("not an audit line");
        return r;
      }
      const auto& a = j["citadel"]["audit"];
      if (!a.contains("seq") || !a["seq"].is_number_integer() || !a.contains("prev") || !a["prev"].is_string()) {
        fail("no sequence number or chain hash");
        return r;
      }
      const int64_t seq = a["seq"].get<int64_t>();
      const std::string p = a["prev"].get<std::string>();
      if (expect_seq < 0) {  // the first line checked: the trail's start, or a continuation
        if (seq == 0 && p != kGenesis) {
          fail("the first line of the trail does not start the chain");
          return r;
        }
      } else if (seq != expect_seq) {
        fail("sequence number " + std::to_string(seq) + " where " + std::to_string(expect_seq) +
             " was due (a line was deleted, inserted or moved)");
        return r;
      } else if (p != prev) {
        fail("its chain hash does not match the line before (that line or this one was altered)");
        return r;
      }
      prev = sha256_hex(line);
      expect_seq = seq + 1;
      ++r.lines;
    }
    if (in.bad()) {
      fail("read error");
      return r;
    }
    last_file_lines = n;
  }
  // The head record says where the trail ended when last written.
  const std::string head_path = files.empty() ? "" : files.back() + ".head";
  if (!head_path.empty()) {
    const std::string head = read_all(head_path);
    const auto h = nlohmann::json::parse(head, nullptr, false);
    if (!head.empty() && h.is_object() && h.contains("seq") && h.contains("sha256")) {
      if (h["seq"] != expect_seq - 1 || h["sha256"] != prev) {
        r = {false, r.lines, files.back(), last_file_lines, "the trail ends before the last line written (seq " +
                                                        h["seq"].dump() + "): lines were cut off the end"};
        return r;
      }
    }
  }
  return r;
}

}  // namespace citadel
