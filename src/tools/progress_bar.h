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
  void update(size_t done, size_t total) {
    if (!enabled_ || total == 0) return;
    const int width = 40, filled = static_cast<int>(width * done / total);
    std::fprintf(stderr, "\r%s [%s%s] %zu/%zu", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(), done, total);
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
