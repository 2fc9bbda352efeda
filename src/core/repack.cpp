#include "core/repack.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <new>
#include <stdexcept>
#include <string>

namespace citadel {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}

HugePageBuffer::HugePageBuffer(size_t n) : size_(n) {
  if (n == 0) return;
  // Mapped 2 MB larger, the unaligned head and the tail unmapped again (in whole 4 KB pages).
  const size_t pages = (n + 4095) & ~size_t{4095}, span = pages + kHugePage;
  void* p = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(p), aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > start) ::munmap(p, aligned - start);
  if (const size_t tail = start + span - (aligned + pages); tail > 0) ::munmap(reinterpret_cast<void*>(aligned + pages), tail);
  data_ = reinterpret_cast<uint8_t*>(aligned);
  ::madvise(data_, n, MADV_HUGEPAGE);  // a hint: without transparent huge pages it is a no-op
  ::madvise(data_, n, MADV_DONTDUMP);  // best effort, as for a decrypted model
}

void HugePageBuffer::seal() const {
  if (data_) ::mprotect(data_, size_, PROT_READ);
}

HugePageBuffer::~HugePageBuffer() {
  if (data_) ::munmap(data_, size_);
}

bool can_repack_rows8(const Tensor& w) {
  return w.type == TensorType::Q4_0 && !w.rows8 && w.ne[2] == 1 && w.ne[3] == 1 && w.rows() % 8 == 0 &&
         w.cols() % 32 == 0 && w.present();
}

HugePageBuffer repack_rows8(const Tensor& w, ThreadPool& pool) {
  if (!can_repack_rows8(w)) throw std::invalid_argument("repack_rows8: " + w.name + " is not a Q4_0 matrix of 8k rows");
  const int64_t nb = w.cols() / 32;
  HugePageBuffer out(static_cast<size_t>(w.rows() / 8 * nb) * kRows8BlockBytes);
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

bool wants_huge_page_copy(const Tensor& w) {
  static const bool thp = [] {  // "always [madvise] never": the bracketed one is in force
    std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string line;
    return std::getline(f, line) && line.find("[never]") == std::string::npos;
  }();
  return thp && w.present() && !w.rows8;
}

HugePageBuffer copy_to_huge_pages(const std::vector<const Tensor*>& ws, std::vector<size_t>& offsets,
                                  ThreadPool& pool, const std::function<void(size_t)>& copied) {
  offsets.clear();
  size_t total = 0;
  for (const Tensor* w : ws) {
    offsets.push_back(total);
    total += (w->rows() * w->row_size() + 63) & ~size_t{63};
  }
  HugePageBuffer out(total);
  for (size_t i = 0; i < ws.size(); ++i) {
    const Tensor& w = *ws[i];
    pool.parallel_for(w.rows(), [&](int64_t r0, int64_t r1) {
      std::memcpy(out.data() + offsets[i] + r0 * w.row_size(), w.row(r0), static_cast<size_t>(r1 - r0) * w.row_size());
    });
    if (copied) copied(i);
  }
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
