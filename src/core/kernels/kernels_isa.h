// Internal to core/kernels: the per-ISA sets as compiled, before the CPU check. Each returns
// nullptr when this build has no such set (another architecture).
#pragma once
#include "core/kernels/kernels.h"

namespace citadel::kernels {

const KernelSet* avx2_kernels();  // kernels_avx2.cpp: needs avx2, fma, f16c
const KernelSet* avx512_kernels();           // kernels_avx512.cpp: needs avx512f/bw/vl/vnni, avx2, fma, f16c
const KernelSet* avx512_emulated_kernels();  // kernels_avx512_emulated.cpp (SIMDe): avx2, fma, f16c
const KernelSet* neon_kernels();  // kernels_neon.cpp: aarch64

}  // namespace citadel::kernels
