// Resource limits of one render, so a hostile template cannot crash the process or run forever:
// evaluation depth (recursion), evaluation steps (loops), the size of any one string and the bytes
// produced overall, the length of lists, and as a last resort wall-clock time (one step does at
// most one bounded piece of work, so checking the clock in step() bounds the render).
#pragma once
#include <cstddef>
#include <chrono>
#include <cstdint>
#include <string>

#include "tokenizer/jinja_error.h"

namespace citadel::jinja {

struct Limits {
  int max_depth = 400;                          // nested evaluations (macro recursion included)
  uint64_t max_steps = 5'000'000;               // evaluated nodes and loop iterations
  size_t max_string_bytes = 16u << 20;          // any one string, the output included
  uint64_t max_total_bytes = 512ull << 20;      // all strings built during the render
  size_t max_items = 1'000'000;                 // any one list (range(), +, split...)
  double max_seconds = 5;                       // wall-clock time of one render
};

class Budget {
 public:
  explicit Budget(const Limits& limits)
      : limits_(limits),
        deadline_(std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(limits.max_seconds < 1e6 ? limits.max_seconds : 1e6))) {}
  const Limits& limits() const { return limits_; }

  void step(uint64_t n = 1) {
    steps_ += n;
    if (steps_ > limits_.max_steps)
      throw RenderError("template exceeded " + std::to_string(limits_.max_steps) + " evaluation steps");
    if (++calls_ % 256 == 0 && std::chrono::steady_clock::now() > deadline_)
      throw RenderError("template rendering took longer than " + std::to_string(limits_.max_seconds) + " s");
  }
  // Accounts for a string about to be built.
  void bytes(size_t n) {
    if (n > limits_.max_string_bytes)
      throw RenderError("template built a string longer than " + std::to_string(limits_.max_string_bytes) + " bytes");
    total_ += n;
    if (total_ > limits_.max_total_bytes)
      throw RenderError("template built more than " + std::to_string(limits_.max_total_bytes) + " bytes in total");
  }
  void items(size_t n) const {
    if (n > limits_.max_items)
      throw RenderError("template built a list longer than " + std::to_string(limits_.max_items) + " items");
  }

 private:
  Limits limits_;
  std::chrono::steady_clock::time_point deadline_;
  uint64_t steps_ = 0;
  uint64_t calls_ = 0;
  uint64_t total_ = 0;
};

}  // namespace citadel::jinja
