#include "core/cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace citadel {
namespace {

#if defined(__x86_64__) || defined(__i386__)
// One CPUID bit (clang 14's __builtin_cpu_supports knows no "f16c", "avxvnni" or "amx-*").
[[maybe_unused]] bool cpuid_bit(unsigned leaf, unsigned subleaf, int reg, int bit) {
  unsigned r[4] = {0, 0, 0, 0};  // eax, ebx, ecx, edx
  if (__get_cpuid_max(0, nullptr) < leaf || !__get_cpuid_count(leaf, subleaf, &r[0], &r[1], &r[2], &r[3])) return false;
  return (r[reg] >> bit) & 1u;
}
#endif

CpuFeatures probe() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
#if defined(__clang__)
  f.f16c = f.avx2 && cpuid_bit(1, 0, 2, 29);  // ECX.F16C; the AVX state is checked with avx2
#else
  f.f16c = __builtin_cpu_supports("f16c");
#endif
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512vnni = __builtin_cpu_supports("avx512vnni");
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
  f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
  f.avxvnni = __builtin_cpu_supports("avxvnni");
  f.amx_int8 = __builtin_cpu_supports("amx-int8");
  f.amx_bf16 = __builtin_cpu_supports("amx-bf16");
#elif defined(__clang__)
  f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
  f.avxvnni = f.avx2 && cpuid_bit(7, 1, 0, 4);  // EAX.AVX-VNNI
  f.amx_int8 = cpuid_bit(7, 0, 3, 25);           // EDX.AMX-INT8
  f.amx_bf16 = cpuid_bit(7, 0, 3, 22);           // EDX.AMX-BF16
#endif
#elif defined(__aarch64__)
  f.neon = true;
#if defined(__linux__) && defined(HWCAP_ASIMDDP)
  f.dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
#endif
  return f;
}

}  // namespace

std::string CpuFeatures::describe() const {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512vnni, "avx512vnni");
  add(avx512bf16, "avx512bf16");
  add(avxvnni, "avxvnni");
  add(amx_int8, "amx-int8");
  add(amx_bf16, "amx-bf16");
  add(neon, "neon");
  add(dotprod, "dotprod");
  return s.empty() ? "none" : s;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = probe();
  return f;
}

}  // namespace citadel
