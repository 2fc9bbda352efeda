// GPU utilisation and memory through NVML, loaded with dlopen at run time so the binary has no
// link-time dependency on the NVIDIA driver. Without libnvidia-ml.so.1 (or with no GPU) it reports nothing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace citadel {

struct GpuSample {
  unsigned index = 0;
  std::string name;
  std::string uuid;
  double utilization = 0;  // 0..1 over the driver's last sample period
  uint64_t memory_used_bytes = 0;
  uint64_t memory_total_bytes = 0;
};

// One sample per visible GPU; empty when NVML is unavailable. Thread-safe.
std::vector<GpuSample> nvml_sample();

}  // namespace citadel
