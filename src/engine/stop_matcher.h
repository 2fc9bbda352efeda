// Finds stop strings in streamed text. Text that might be the start of a stop string is held
// back until it is known not to be, so a client never sees part of a stop string.
#pragma once
#include <string>
#include <vector>

namespace citadel {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);
  // Adds generated text; returns the text that is now safe to emit.
  std::string push(const std::string& text);
  bool stopped() const { return stopped_; }
  const std::string& matched() const { return matched_; }  // the stop string found ("" before)
  // The held-back remainder (call when generation ends without a stop).
  std::string flush();

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace citadel
