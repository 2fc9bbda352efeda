// The ARM build runs the NEON kernel set, not silently the scalar one (the aarch64 cross build
// runs this under qemu; see docs/performance.md). Elsewhere the NEON set must be absent.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/cpu_features.h"
#include "core/kernels/kernels.h"

namespace citadel {

TEST(Neon, ActiveOnAarch64) {
#if defined(__aarch64__)
  ASSERT_TRUE(cpu_features().neon);
  const kernels::KernelSet* neon = kernels::neon_set();
  ASSERT_NE(neon, nullptr) << "aarch64 build without the NEON kernel set";
  EXPECT_STREQ(kernels::available().back()->name, "neon");
  if (std::getenv("CITADEL_ISA") == nullptr) {
    EXPECT_STREQ(kernels::active().name, "neon");
  }
  // Every dot kernel is NEON's own, none borrowed from the scalar set.
  const kernels::KernelSet& scalar = kernels::scalar_set();
  const kernels::DotFn kernels::KernelSet::* fields[] = {
      &kernels::KernelSet::f32,  &kernels::KernelSet::f16,  &kernels::KernelSet::bf16, &kernels::KernelSet::q8_0,
      &kernels::KernelSet::q4_0, &kernels::KernelSet::q4_1, &kernels::KernelSet::q5_0, &kernels::KernelSet::q5_1,
      &kernels::KernelSet::q4_k, &kernels::KernelSet::q5_k, &kernels::KernelSet::q6_k};
  for (auto field : fields) {
    EXPECT_NE(neon->*field, nullptr);
    EXPECT_NE(neon->*field, scalar.*field);
  }
  EXPECT_NE(neon->dot_rows, nullptr);
  EXPECT_NE(neon->axpy_rows, nullptr);
  EXPECT_NE(neon->exp_sum, nullptr);
#else
  EXPECT_EQ(kernels::neon_set(), nullptr);
  GTEST_SKIP() << "not an aarch64 build (the NEON set is tested by the aarch64 cross build under qemu)";
#endif
}

}  // namespace citadel
