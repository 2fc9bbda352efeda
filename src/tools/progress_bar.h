// A one-line progress bar on stderr, drawn only when stderr is a terminal (logs stay clean).
#pragma once
#include <unistd.h>

#include <cstdio>
#include <string>

namespace citadel {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label) : label_(std::move(label)), enabled_(::isatty(2) != 0) {}
  ~ProgressBar() { finish(); }
  // `note` follows the count (e.g. "loss 2.31, 850 tok/s"); the line is redrawn in place.
  void update(size_t done, size_t total, const std::string& note = "") {
    if (!enabled_ || total == 0) return;
    const int width = 40, filled = static_cast<int>(width * done / total);
    std::fprintf(stderr, "\r%s [%s%s] %zu/%zu%s%s\033[K", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(), done, total, note.empty() ? "" : "  ", note.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }
  void finish() {
    if (drawn_) std::fprintf(stderr, "\n");
    drawn_ = false;
  }

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
};

}  // namespace citadel
