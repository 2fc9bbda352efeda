// What the CPU we run on offers, probed once at start-up (the build itself stays portable).
#pragma once
#include <string>

namespace citadel {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false;
  bool avxvnni = false, amx_int8 = false, amx_bf16 = false;
  bool neon = false, dotprod = false;

  std::string describe() const;  // "avx2 fma f16c ..." for logs and benchmarks
};

const CpuFeatures& cpu_features();

}  // namespace citadel
