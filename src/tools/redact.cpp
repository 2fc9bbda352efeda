// citadel redact: cleans JSONL training data. Each line is one record: the strings at --fields get
// numbered placeholders (numbered per line), malformed lines are reported by number and left out,
// and a summary per type ends the run. It streams: memory stays flat whatever the file's size.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/json_file.h"
#include "core/thread_pool.h"
#include "gateway/pii.h"
#include "gateway/pii_jsonl.h"
#include "tools/progress_bar.h"
#include "tools/tool.h"

namespace {

using nlohmann::ordered_json;

constexpr size_t kMaxListedErrors = 1000;  // malformed lines named one by one; the rest are counted

// Lines of a stream through one fixed buffer; a line longer than `max` is dropped as it is read.
class LineReader {
 public:
  LineReader(FILE* f, size_t max) : f_(f), max_(max), buf_(1 << 20) {}
  // False at the end. *too_long: the line had more than max bytes (`line` is then empty).
  bool next(std::string& line, bool* too_long) {
    line.clear();
    *too_long = false;
    bool any = false;
    for (;;) {
      if (pos_ == len_) {
        len_ = std::fread(buf_.data(), 1, buf_.size(), f_);
        pos_ = 0;
        if (len_ == 0) return any;
      }
      any = true;
      const char* start = buf_.data() + pos_;
      const char* nl = static_cast<const char*>(std::memchr(start, '\n', len_ - pos_));
      const size_t n = nl ? static_cast<size_t>(nl - start) : len_ - pos_;
      if (!*too_long && line.size() + n <= max_) {
        line.append(start, n);
      } else {
        *too_long = true;
        line.clear();
      }
      pos_ += n + (nl ? 1 : 0);
      bytes_ += n + (nl ? 1 : 0);
      if (nl) return true;
    }
  }
  uint64_t bytes() const { return bytes_; }

 private:
  FILE* f_;
  size_t max_;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  uint64_t bytes_ = 0;
};

struct Totals {
  uint64_t lines = 0, written = 0, malformed = 0, blank = 0, changed = 0, bytes_out = 0;
  std::map<std::string, uint64_t> found;
};

citadel::PiiConfig build_config(const std::string& config_path, const std::string& detectors,
                                const std::vector<std::string>& dictionaries, const std::vector<std::string>& regexes) {
  citadel::PiiConfig config;
  if (!config_path.empty())
    config = citadel::pii_config_from_json(citadel::read_json_file(config_path),
                                           std::filesystem::path(config_path).parent_path().string());
  if (!detectors.empty()) {
    config.detectors.clear();
    std::stringstream list(detectors);
    for (std::string name; std::getline(list, name, ',');) config.detectors.push_back(name);
  }
  auto split = [](const std::string& spec, const std::string& option, const char* value) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      throw std::invalid_argument(option + " expects TYPE=" + value + ", got '" + spec + "'");
    return std::make_pair(spec.substr(0, eq), spec.substr(eq + 1));
  };
  for (const auto& d : dictionaries) {
    auto [type, file] = split(d, "--dictionary", "FILE");
    config.dictionaries.push_back({type, {file}, {}, false});
  }
  for (const auto& r : regexes) {
    auto [type, pattern] = split(r, "--regex", "PATTERN");
    config.regexes.push_back({type, pattern});
  }
  return config;
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

ordered_json summary_json(const Totals& t, uint64_t bytes_in, double seconds) {
  ordered_json found = ordered_json::object();
  for (const auto& [type, n] : t.found) found[type] = n;
  return {{"lines", t.lines},         {"written", t.written},     {"malformed", t.malformed},
          {"blank", t.blank},         {"changed", t.changed},     {"found", found},
          {"bytes_in", bytes_in},     {"bytes_out", t.bytes_out}, {"seconds", seconds},
          {"mb_per_second", seconds > 0 ? bytes_in / 1e6 / seconds : 0.0}};
}

// Lines read together, redacted by all threads, written in order.
struct Batch {
  std::vector<std::string> lines, outs;
  std::vector<char> too_long;
  std::vector<citadel::JsonlRedaction> results;
  size_t size = 0;
  bool read(LineReader& reader) {
    size = 0;
    size_t bytes = 0;
    bool long_line = false;
    while (size < 4096 && bytes < (size_t{4} << 20)) {
      if (size == lines.size()) lines.emplace_back(), outs.emplace_back(), too_long.push_back(0), results.emplace_back();
      if (!reader.next(lines[size], &long_line)) break;
      too_long[size] = long_line;
      bytes += lines[size++].size();
    }
    return size > 0;
  }
  // Buffers that held an unusually long line give their memory back, so that memory stays flat
  // however many long lines the file has.
  void release_large() {
    for (size_t k = 0; k < size; ++k) {
      if (lines[k].capacity() > (size_t{1} << 20)) std::string().swap(lines[k]);
      if (outs[k].capacity() > (size_t{1} << 20)) std::string().swap(outs[k]);
    }
  }
};

// What each thread found, summed at the end.
struct Found {
  std::map<std::string, uint64_t> by_type;
  uint64_t changed = 0;
};

int run_redact(int argc, char** argv) {
  CLI::App app{"Redact personal data (phones, ID and card numbers, IBANs, SSNs, e-mails, IPs, names from "
               "dictionaries, custom regexes) in the string fields of a JSONL file, line by line.",
               "citadel redact"};
  std::string in_path, out_path, fields, config_path, detectors;
  std::vector<std::string> dictionaries, regexes;
  bool report = false;
  size_t max_line = size_t{64} << 20;
  int threads = 0;
  app.add_option("--in,-i", in_path, "JSONL input ('-': stdin)")->required();
  app.add_option("--out,-o", out_path, "JSONL output ('-': stdout); a file is written as OUT.partial and renamed at the end")
      ->required();
  app.add_option("--fields,-f", fields,
                 "comma-separated field paths whose strings are redacted: text,messages.*.content ('*': every "
                 "element or member; a path to an array or object redacts every string inside)")
      ->required();
  app.add_flag("--report", report, "also print the summary as JSON, on stdout (on stderr when --out is -)");
  app.add_option("--pii-config", config_path, "JSON file {detectors, dictionaries, regexes} (docs/privacy.md)");
  app.add_option("--detectors", detectors, "built-in detectors to run, comma-separated (default: all): "
                                           "email,phone,cn_id,bank_card,iban,us_ssn,ip");
  app.add_option("--dictionary", dictionaries, "TYPE=FILE: terms to find, one per line, reported as TYPE (repeatable)");
  app.add_option("--regex", regexes, "TYPE=PATTERN: a PCRE2 pattern reported as TYPE (repeatable)");
  app.add_option("--max-line-bytes", max_line, "longer lines are reported as malformed and left out")->capture_default_str();
  app.add_option("--threads,-t", threads, "threads (default: the cores available)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  const auto paths = citadel::parse_json_field_paths(fields);
  const citadel::PiiDetector detector(build_config(config_path, detectors, dictionaries, regexes));
  const bool to_stdout = out_path == "-";
  if (!to_stdout && in_path != "-" && same_file(in_path, out_path)) {
    std::fprintf(stderr, "citadel redact: --in and --out are the same file\n");
    return 2;
  }
  std::unique_ptr<FILE, int (*)(FILE*)> in(in_path == "-" ? stdin : std::fopen(in_path.c_str(), "rb"),
                                           [](FILE* f) { return f == stdin ? 0 : std::fclose(f); });
  if (!in) {
    std::fprintf(stderr, "citadel redact: cannot open %s: %s\n", in_path.c_str(), std::strerror(errno));
    return 1;
  }
  // A regular file is written beside it and renamed when complete; a device or pipe directly.
  struct stat ost {};
  const bool direct = to_stdout || (::stat(out_path.c_str(), &ost) == 0 && !S_ISREG(ost.st_mode));
  const std::string partial = direct ? out_path : out_path + ".partial";
  FILE* out = to_stdout ? stdout : std::fopen(partial.c_str(), "wb");
  if (!out) {
    std::fprintf(stderr, "citadel redact: cannot write %s: %s\n", partial.c_str(), std::strerror(errno));
    return 1;
  }
  std::vector<char> out_buf(1 << 20);
  std::setvbuf(out, out_buf.data(), _IOFBF, out_buf.size());
  struct stat st {};
  const uint64_t total = (in_path != "-" && ::stat(in_path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ? st.st_size : 0;

  const auto t0 = std::chrono::steady_clock::now();
  citadel::ThreadPool pool(threads);
  std::vector<citadel::PiiRedactor> redactors(pool.size(), citadel::PiiRedactor(detector));
  std::vector<Found> found(pool.size());
  citadel::ProgressBar bar("redact (MiB)");
  LineReader reader(in.get(), max_line);
  Batch batch;
  Totals t;
  bool write_failed = false;
  int io_errno = 0;
  while (!write_failed && batch.read(reader)) {
    std::atomic<size_t> next{0};
    pool.run([&](int thread, int) {
      for (size_t i; (i = next.fetch_add(16)) < batch.size;)
        for (size_t k = i; k < std::min(i + 16, batch.size); ++k) {
          auto& r = batch.results[k];
          if (batch.too_long[k]) {
            r = {citadel::JsonlRedaction::Malformed, false, "longer than " + std::to_string(max_line) + " bytes"};
            continue;
          }
          r = citadel::redact_jsonl_line(batch.lines[k], paths, redactors[thread], batch.outs[k]);
          if (!r.changed) continue;
          ++found[thread].changed;
          for (const auto& [type, n] : redactors[thread].counts()) found[thread].by_type[type] += n;
        }
    });
    for (size_t k = 0; k < batch.size && !write_failed; ++k) {
      ++t.lines;
      const auto& r = batch.results[k];
      if (r.kind == citadel::JsonlRedaction::Blank) {
        ++t.blank;
      } else if (r.kind == citadel::JsonlRedaction::Malformed) {
        if (++t.malformed <= kMaxListedErrors) {
          bar.finish();
          std::fprintf(stderr, "citadel redact: line %llu: %s%s\n", static_cast<unsigned long long>(t.lines),
                       r.error.c_str(),
                       t.malformed == kMaxListedErrors ? " (further malformed lines are counted, not listed)" : "");
        }
      } else {
        const std::string& text = batch.outs[k];
        if (std::fwrite(text.data(), 1, text.size(), out) != text.size() || std::fputc('\n', out) == EOF) {
          write_failed = true, io_errno = errno;
          break;
        }
        t.bytes_out += text.size() + 1;
        ++t.written;
      }
    }
    if (total) bar.update(reader.bytes() >> 20, total >> 20);
    batch.release_large();
  }
  bar.finish();
  const bool read_failed = std::ferror(in.get()) != 0;
  if (read_failed) io_errno = errno;
  if (!write_failed && (std::fflush(out) != 0 || std::ferror(out) != 0)) write_failed = true, io_errno = errno;
  if (!to_stdout && std::fclose(out) != 0 && !write_failed) write_failed = true, io_errno = errno;  // a full disk, at the latest
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (read_failed || write_failed) {
    std::fprintf(stderr, "citadel redact: %s error after line %llu: %s%s\n", read_failed ? "read" : "write",
                 static_cast<unsigned long long>(t.lines), std::strerror(io_errno), direct ? "" : "; no output file written");
    if (!direct) std::remove(partial.c_str());
    return 1;
  }
  if (!direct && std::rename(partial.c_str(), out_path.c_str()) != 0) {
    std::fprintf(stderr, "citadel redact: cannot rename %s to %s: %s\n", partial.c_str(), out_path.c_str(),
                 std::strerror(errno));
    return 1;
  }
  for (const Found& f : found) {
    t.changed += f.changed;
    for (const auto& [type, n] : f.by_type) t.found[type] += n;
  }

  std::fprintf(stderr, "citadel redact: %llu lines: %llu written (%llu changed), %llu malformed, %llu blank\n",
               static_cast<unsigned long long>(t.lines), static_cast<unsigned long long>(t.written),
               static_cast<unsigned long long>(t.changed), static_cast<unsigned long long>(t.malformed),
               static_cast<unsigned long long>(t.blank));
  for (const auto& [type, n] : t.found) std::fprintf(stderr, "  %-14s %llu\n", type.c_str(), static_cast<unsigned long long>(n));
  std::fprintf(stderr, "  %.1f MB in %.2f s = %.1f MB/s with %d thread(s)\n", reader.bytes() / 1e6, seconds,
               seconds > 0 ? reader.bytes() / 1e6 / seconds : 0.0, pool.size());
  if (report) {
    ordered_json j = summary_json(t, reader.bytes(), seconds);
    j["threads"] = pool.size();
    std::fputs((j.dump() + "\n").c_str(), to_stdout ? stderr : stdout);
  }
  return 0;
}

const citadel::ToolRegistration reg{"redact", "redact personal data in JSONL fields (training data cleaning)", run_redact};

}  // namespace
