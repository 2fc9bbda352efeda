// The avx512 set's source (kernels_avx512.cpp) compiled a second time against SIMDe with AVX2
// flags only (CMakeLists.txt): the `avx512-emulated` set, which runs the AVX-512 code on x86 CPUs
// without AVX-512 so that its tests run everywhere. Slow; kernels::active() never picks it.
#define CITADEL_AVX512_EMULATED 1
#include "kernels_avx512.cpp"
