#include "model/scratch.h"

#include <array>
#include <memory>

namespace citadel {

float* scratch(Scratch slot, size_t n) {
  struct Buffer {
    std::unique_ptr<float[]> data;
    size_t capacity = 0;
  };
  thread_local std::array<Buffer, static_cast<size_t>(Scratch::Count)> buffers;
  Buffer& b = buffers[static_cast<size_t>(slot)];
  if (b.capacity < n) {
    b.data = std::make_unique_for_overwrite<float[]>(n);  // not zeroed: the caller writes it first
    b.capacity = n;
  }
  return b.data.get();
}

}  // namespace citadel
