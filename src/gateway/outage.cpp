#include "gateway/outage.h"

#include <cstdio>

namespace citadel {

bool Outage::may_try() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !down_ || std::chrono::steady_clock::now() >= retry_at_;
}

void Outage::failed(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  retry_at_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  if (down_) return;
  down_ = true;
  std::fprintf(stderr, "citadel: %s unavailable (%s): %s until it is back\n", what_.c_str(), why.c_str(),
               consequence_.c_str());
}

void Outage::succeeded() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!down_) return;
  down_ = false;
  std::fprintf(stderr, "citadel: %s is back\n", what_.c_str());
}

bool Outage::down() const {
  std::lock_guard<std::mutex> lock(mu_);
  return down_;
}

}  // namespace citadel
