#include "core/gemm_f32.h"

#include <algorithm>
#include <vector>

#include "core/kernels/kernels.h"

namespace citadel {
namespace {

constexpr int64_t kRowsPerChunk = 64;  // rows of the right-hand matrix per block (in cache)
constexpr int64_t kColsPerSlice = 256; // output columns per job of gemm_ab_acc
constexpr int64_t kLhsPerJob = 32;     // left-hand rows per job
// Products of fewer multiply-adds run on the calling thread: waking the pool costs more than they
// do (a LoRA adapter's B (A x) in decode: a few thousand per projection, hundreds per step).
constexpr int64_t kSerialMacs = int64_t{1} << 16;

}  // namespace

void gemm_abt(const float* a, const float* b, float* c, int64_t n, int64_t m, int64_t k, ThreadPool& pool) {
  if (n <= 0 || m <= 0) return;
  const kernels::KernelSet& ks = kernels::active();
  const int64_t b_chunks = (m + kRowsPerChunk - 1) / kRowsPerChunk, a_blocks = (n + kLhsPerJob - 1) / kLhsPerJob;
  auto job = [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t bc = j % b_chunks, ab = j / b_chunks;
      const int64_t r0 = bc * kRowsPerChunk, rows = std::min(kRowsPerChunk, m - r0);
      for (int64_t i = ab * kLhsPerJob; i < std::min(n, (ab + 1) * kLhsPerJob); ++i)
        ks.dot_rows(b + r0 * k, k, static_cast<int>(rows), a + i * k, k, c + i * m + r0);
    }
  };
  if (b_chunks * a_blocks == 1 || n * m * k <= kSerialMacs) job(0, b_chunks * a_blocks);
  else pool.parallel_for(b_chunks * a_blocks, job);
}

void gemm_ab_acc(const float* a, const float* b, float* c, int64_t n, int64_t m, int64_t k, ThreadPool& pool) {
  if (n <= 0 || m <= 0 || k <= 0) return;
  const kernels::KernelSet& ks = kernels::active();
  const int64_t slices = (m + kColsPerSlice - 1) / kColsPerSlice, a_blocks = (n + kLhsPerJob - 1) / kLhsPerJob;
  auto job = [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t s = j % slices, ab = j / slices;
      const int64_t c0 = s * kColsPerSlice, width = std::min(kColsPerSlice, m - c0);
      const int64_t i0 = ab * kLhsPerJob, i1 = std::min(n, i0 + kLhsPerJob);
      for (int64_t p0 = 0; p0 < k; p0 += kRowsPerChunk) {
        const int rows = static_cast<int>(std::min(kRowsPerChunk, k - p0));
        for (int64_t i = i0; i < i1; ++i) ks.axpy_rows(b + p0 * m + c0, m, rows, a + i * k + p0, width, c + i * m + c0);
      }
    }
  };
  if (slices * a_blocks == 1) job(0, 1);
  else pool.parallel_for(slices * a_blocks, job);
}

void gemm_atb_acc(const float* a, const float* b, float* c, int64_t n, int64_t k, int64_t m, ThreadPool& pool) {
  if (n <= 0 || k <= 0 || m <= 0) return;
  std::vector<float> at(static_cast<size_t>(k * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < k; ++p) at[p * n + i] = a[i * k + p];
  gemm_ab_acc(at.data(), b, c, k, m, n, pool);
}

}  // namespace citadel
