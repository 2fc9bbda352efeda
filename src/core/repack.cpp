#include "core/repack.h"

#include <sys/mman.h>

#include <cstring>
#include <new>
#include <stdexcept>

namespace citadel {

Rows8Buffer::Rows8Buffer(size_t n) : size_(n) {
  if (n == 0) return;
  void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  ::madvise(p, n, MADV_HUGEPAGE);  // a hint: without transparent huge pages it is a no-op
  data_ = static_cast<uint8_t*>(p);
}

Rows8Buffer::~Rows8Buffer() {
  if (data_) ::munmap(data_, size_);
}

bool can_repack_rows8(const Tensor& w) {
  return w.type == TensorType::Q4_0 && !w.rows8 && w.ne[2] == 1 && w.ne[3] == 1 && w.rows() % 8 == 0 &&
         w.cols() % 32 == 0 && w.present();
}

Rows8Buffer repack_rows8(const Tensor& w, ThreadPool& pool) {
  if (!can_repack_rows8(w)) throw std::invalid_argument("repack_rows8: " + w.name + " is not a Q4_0 matrix of 8k rows");
  const int64_t nb = w.cols() / 32;
  Rows8Buffer out(static_cast<size_t>(w.rows() / 8 * nb) * kRows8BlockBytes);
  pool.parallel_for(w.rows() / 8, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      const BlockQ4_0* rows[8];
      for (int r = 0; r < 8; ++r) rows[r] = reinterpret_cast<const BlockQ4_0*>(w.row(8 * g + r));
      for (int64_t b = 0; b < nb; ++b) {
        uint8_t* o = out.data() + (g * nb + b) * kRows8BlockBytes;
        for (int r = 0; r < 8; ++r) {
          std::memcpy(o + 2 * r, &rows[r][b].d, 2);
          for (int j = 0; j < 4; ++j) std::memcpy(o + 16 + 32 * j + 4 * r, rows[r][b].qs + 4 * j, 4);
        }
      }
    }
  });
  return out;
}

void rows8_row(const Tensor& w, int64_t r, BlockQ4_0* out) {
  const int64_t nb = w.cols() / 32, g = r / 8, i = r % 8;
  const auto* base = static_cast<const uint8_t*>(w.data);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* o = base + (g * nb + b) * kRows8BlockBytes;
    std::memcpy(&out[b].d, o + 2 * i, 2);
    for (int j = 0; j < 4; ++j) std::memcpy(out[b].qs + 4 * j, o + 16 + 32 * j + 4 * i, 4);
  }
}

}  // namespace citadel
