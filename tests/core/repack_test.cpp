// Q4_0 matrices re-laid 8 rows at a time (core/repack.h): the layout round-trips, the rows8 dot of
// every kernel set matches the scalar one-row dot, and matmul / get_row on a re-laid tensor give
// what the file's layout gives. Huge-page buffers and the copies of other matrices into them.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <random>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/matmul.h"
#include "core/quant.h"
#include "core/repack.h"

namespace citadel {
namespace {

struct Q4Matrix {
  std::vector<uint8_t> bytes;
  Tensor t;
};

Q4Matrix random_q4_0(int64_t rows, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> f(rows * cols);
  for (auto& v : f) v = dist(rng);
  for (size_t i = 0; i < f.size(); i += 41) f[i] *= 8;  // extreme levels 0 and 15 occur
  Q4Matrix m;
  m.bytes.resize(row_bytes(TensorType::Q4_0, cols) * rows);
  for (int64_t r = 0; r < rows; ++r)
    quantize_row(TensorType::Q4_0, f.data() + r * cols, m.bytes.data() + r * row_bytes(TensorType::Q4_0, cols), cols);
  m.t.name = "w";
  m.t.type = TensorType::Q4_0;
  m.t.ne[0] = cols;
  m.t.ne[1] = rows;
  m.t.data = m.bytes.data();
  return m;
}

TEST(Repack, RowsComeBackAsTheFileHasThem) {
  std::mt19937 rng(41);
  ThreadPool pool(2);
  const Q4Matrix m = random_q4_0(24, 96, rng);
  ASSERT_TRUE(can_repack_rows8(m.t));
  const HugePageBuffer packed = repack_rows8(m.t, pool);
  ASSERT_EQ(packed.size(), m.bytes.size());
  Tensor p = m.t;
  p.data = packed.data();
  p.rows8 = true;
  EXPECT_FALSE(can_repack_rows8(p));
  std::vector<BlockQ4_0> row(3);
  for (int64_t r = 0; r < 24; ++r) {
    rows8_row(p, r, row.data());
    EXPECT_EQ(0, std::memcmp(row.data(), m.t.row(r), m.t.row_size())) << "row " << r;
  }
  Q4Matrix odd = random_q4_0(12, 64, rng);  // not a multiple of 8 rows
  EXPECT_FALSE(can_repack_rows8(odd.t));
}

TEST(Repack, Rows8DotOfEverySetMatchesTheOneRowDot) {
  std::mt19937 rng(43);
  ThreadPool pool(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int64_t n : {32, 96, 2048}) {
    const Q4Matrix m = random_q4_0(8, n, rng);
    const HugePageBuffer packed = repack_rows8(m.t, pool);
    std::vector<float> x(n);
    for (auto& v : x) v = dist(rng);
    std::vector<kernels::ActQ8_0> a(n / 32);
    kernels::quantize_act(kernels::ActFormat::Q8_0, x.data(), a.data(), n);
    for (const kernels::KernelSet* set : kernels::available()) {
      if (!set->dot_q4_0_rows8) continue;
      float out[8];
      set->dot_q4_0_rows8(packed.data(), a.data(), n, out);
      for (int r = 0; r < 8; ++r) {
        const float want = kernels::scalar_set().q4_0(m.t.row(r), a.data(), n);
        std::vector<float> w(n);
        dequantize_row(TensorType::Q4_0, m.t.row(r), w.data(), n);
        double mag = 0;
        for (int64_t i = 0; i < n; ++i) mag += std::fabs(w[i] * x[i]);
        EXPECT_NEAR(out[r], want, 2e-6 * mag + 1e-30) << set->name << " n=" << n << " row " << r;
      }
    }
  }
}

TEST(Repack, Rows8TileOfEverySetGivesTheFileLayoutTilesSums) {
  std::mt19937 rng(45);
  ThreadPool pool(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  int checked = 0;
  for (int64_t n : {32, 96, 512}) {
    for (int nr : {8, 16, 24}) {
      const Q4Matrix m = random_q4_0(nr, n, rng);
      const HugePageBuffer packed = repack_rows8(m.t, pool);
      for (int n_groups : {1, 2, 3, 7}) {
        const size_t xs = kernels::act_row_bytes(kernels::ActFormat::Q8_0, n);
        const size_t gb = kernels::act_group_bytes(kernels::ActFormat::Q8_0, n);
        std::vector<uint8_t> xq(8 * n_groups * xs), groups(n_groups * gb);
        std::vector<float> x(n);
        for (int t = 0; t < 8 * n_groups; ++t) {
          for (auto& v : x) v = dist(rng);
          kernels::quantize_act(kernels::ActFormat::Q8_0, x.data(), xq.data() + t * xs, n);
        }
        for (int g = 0; g < n_groups; ++g)
          kernels::pack_act_x8(kernels::ActFormat::Q8_0, xq.data() + 8 * g * xs, xs, n, groups.data() + g * gb);
        for (const kernels::KernelSet* set : kernels::available()) {
          if (!set->tile_q4_0_rows8) continue;
          const int64_t y_stride = nr + 5;
          std::vector<float> want(8 * n_groups * y_stride, NAN), got = want;
          std::vector<uint8_t> scratch(kernels::tile_scratch_bytes(n));
          set->tile_q4_0(m.bytes.data(), m.t.row_size(), nr, groups.data(), n_groups, n, want.data(), y_stride,
                         scratch.data());
          set->tile_q4_0_rows8(packed.data(), m.t.row_size(), nr, groups.data(), n_groups, n, got.data(), y_stride,
                               scratch.data());
          for (size_t i = 0; i < got.size(); ++i) {
            if (std::isnan(want[i])) {
              ASSERT_TRUE(std::isnan(got[i])) << set->name << ": wrote outside the tile";
              continue;
            }
            ASSERT_EQ(got[i], want[i]) << set->name << " n=" << n << " rows=" << nr << " groups=" << n_groups;
          }
          ++checked;
        }
      }
    }
  }
  if (checked == 0) GTEST_SKIP() << "no kernel set here has a rows8 tile";
}

TEST(Repack, MatmulAndGetRowOnAReLaidMatrixMatchTheFileLayout) {
  std::mt19937 rng(47);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int64_t k = 256, m = 136;  // several chunks of rows
  ThreadPool pool(3);
  const Q4Matrix plain = random_q4_0(m, k, rng);
  const HugePageBuffer packed = repack_rows8(plain.t, pool);
  Tensor p = plain.t;
  p.data = packed.data();
  p.rows8 = true;
  for (int64_t nt : {1, 2, 3, 8, 11, 17, 75, 137}) {
    std::vector<float> x(nt * k), want(nt * m, NAN), got(nt * m, NAN);  // an output left unwritten fails
    for (auto& v : x) v = dist(rng);
    matmul(plain.t, x.data(), nt, want.data(), pool);
    matmul(p, x.data(), nt, got.data(), pool);
    for (int64_t i = 0; i < nt * m; ++i) EXPECT_NEAR(got[i], want[i], 1e-4f * (1.0f + std::fabs(want[i]))) << "tokens " << nt;
  }
  std::vector<float> a(k), b(k);
  for (int64_t r = 0; r < m; ++r) {
    get_row(plain.t, r, a.data());
    get_row(p, r, b.data());
    EXPECT_EQ(a, b) << "row " << r;
  }
}

TEST(HugePageBuffer, StartsOnA2MBBoundaryAndHoldsItsBytes) {
  for (size_t n : {size_t{1}, size_t{4096}, (size_t{3} << 20) + 100}) {
    SCOPED_TRACE(n);
    HugePageBuffer b(n);
    ASSERT_NE(b.data(), nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % (size_t{2} << 20), 0u);
    EXPECT_EQ(b.size(), n);
    for (size_t i = 0; i < n; i += 997) b.data()[i] = static_cast<uint8_t>(i);
    b.data()[n - 1] = 7;
    for (size_t i = 0; i + 1 < n; i += 997) ASSERT_EQ(b.data()[i], static_cast<uint8_t>(i));
    EXPECT_EQ(b.data()[n - 1], 7);
  }
  HugePageBuffer empty(0);
  EXPECT_EQ(empty.data(), nullptr);
}

// The VmFlags line of the mapping that holds p (/proc/self/smaps), e.g. "rd wr mr mw me ac dd".
std::string vm_flags(const void* p) {
  std::ifstream f("/proc/self/smaps");
  std::string line;
  bool inside = false;
  const auto a = reinterpret_cast<uintptr_t>(p);
  while (std::getline(f, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) inside = lo <= a && a < hi;
    if (inside && line.rfind("VmFlags:", 0) == 0) return line.substr(8) + " ";
  }
  return "";
}

// Whether this platform shows MADV_DONTDUMP in smaps at all (qemu's user-mode emulation, which
// runs the aarch64 build's tests, takes the madvise and shows no "dd").
bool smaps_shows_dontdump() {
  const size_t n = 1 << 16;
  void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  ::madvise(p, n, MADV_DONTDUMP);
  static_cast<char*>(p)[0] = 1;
  const bool shown = vm_flags(p).find(" dd ") != std::string::npos;
  ::munmap(p, n);
  return shown;
}

TEST(HugePageBuffer, StaysOutOfCoreDumpsAndSealsReadOnly) {
  HugePageBuffer b(size_t{3} << 20);
  b.data()[5] = 1;
  const std::string before = vm_flags(b.data());
  ASSERT_FALSE(before.empty()) << "no mapping found in /proc/self/smaps";
  if (smaps_shows_dontdump()) EXPECT_NE(before.find(" dd "), std::string::npos) << before;
  else std::printf("smaps shows no MADV_DONTDUMP on this platform (emulated?): the dd flag is not checked\n");
  EXPECT_NE(before.find(" wr "), std::string::npos) << before;
  b.seal();
  const std::string after = vm_flags(b.data());
  EXPECT_EQ(after.find(" wr "), std::string::npos) << after;
  EXPECT_EQ(b.data()[5], 1);
}

TEST(HugePageBuffer, CopiesMatricesOfEveryTypeAlignedAndWhole) {
  std::mt19937 rng(43);
  ThreadPool pool(2);
  struct M {
    TensorType type;
    int64_t rows, cols;
    std::vector<uint8_t> bytes;
    Tensor t;
  };
  std::vector<M> ms = {{TensorType::F16, 37, 96, {}, {}}, {TensorType::Q8_0, 5, 64, {}, {}},
                       {TensorType::BF16, 1, 2, {}, {}}, {TensorType::Q4_K, 3, 256, {}, {}}};
  std::vector<const Tensor*> ts;
  for (M& m : ms) {
    m.bytes.resize(row_bytes(m.type, m.cols) * m.rows);
    for (auto& v : m.bytes) v = static_cast<uint8_t>(rng());
    m.t.type = m.type;
    m.t.ne[0] = m.cols;
    m.t.ne[1] = m.rows;
    m.t.data = m.bytes.data();
    ts.push_back(&m.t);
  }
  std::vector<size_t> offsets;
  const HugePageBuffer b = copy_to_huge_pages(ts, offsets, pool);
  ASSERT_EQ(offsets.size(), ms.size());
  for (size_t i = 0; i < ms.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(offsets[i] % 64, 0u);
    ASSERT_LE(offsets[i] + ms[i].bytes.size(), b.size());
    if (i + 1 < ms.size()) EXPECT_LE(offsets[i] + ms[i].bytes.size(), offsets[i + 1]);  // no overlap
    EXPECT_EQ(std::memcmp(b.data() + offsets[i], ms[i].bytes.data(), ms[i].bytes.size()), 0);
  }
}

}  // namespace
}  // namespace citadel
