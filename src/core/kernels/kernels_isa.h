// Internal to core/kernels: the per-ISA sets as compiled, before the CPU check. Each returns
// nullptr when this build has no such set (another architecture).
#pragma once
#include <algorithm>
#include <vector>

#include "core/kernels/kernels.h"

namespace citadel::kernels {

const KernelSet* avx2_kernels();  // kernels_avx2.cpp: needs avx2, fma, f16c
const KernelSet* avx512_kernels();           // kernels_avx512.cpp: needs avx512f/bw/vl/vnni, avx2, fma, f16c
const KernelSet* avx512_emulated_kernels();  // kernels_avx512_emulated.cpp (SIMDe): avx2, fma, f16c
const KernelSet* neon_kernels();  // kernels_neon.cpp: aarch64

// attend.template operator()<Q>(i0) over nq queries: four at a time, then the one to three left
// (the SIMD attend_block forms; each file passes its own lambda, a type of its own, so no
// instantiation compiled for one instruction set can stand in for another's).
template <class Attend>
void in_fours(int nq, Attend attend) {
  int i = 0;
  for (; i + 4 <= nq; i += 4) attend.template operator()<4>(i);
  switch (nq - i) {
    case 3: attend.template operator()<3>(i); break;
    case 2: attend.template operator()<2>(i); break;
    case 1: attend.template operator()<1>(i); break;
    default: break;
  }
}

// attend(one) for each block of a in turn, each query's seen clipped to that block: the same online
// softmax as the blocks taken together (for the sets whose attend_block form takes one block).
template <class Attend>
void block_by_block(const AttendBlock& a, Attend attend) {
  if (a.n_blocks == 1) return attend(a);
  thread_local std::vector<int> seen;
  seen.resize(static_cast<size_t>(a.nq));
  for (int b = 0; b < a.n_blocks; ++b) {
    AttendBlock one = a;
    one.n_blocks = 1;
    one.keys[0] = a.keys[b];
    one.values[0] = a.values[b];
    for (int i = 0; i < a.nq; ++i) seen[i] = std::clamp(a.seen[i] - b * AttendBlock::kKeys, 0, AttendBlock::kKeys);
    one.seen = seen.data();
    attend(one);
  }
}

}  // namespace citadel::kernels
