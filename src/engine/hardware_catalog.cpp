#include "engine/hardware_catalog.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace citadel {
namespace {

constexpr uint64_t kGiB = 1024ull * 1024 * 1024;
constexpr double kGB = 1e9;
constexpr double kTera = 1e12;

std::vector<DeviceSpec> make_catalog() {
  std::vector<DeviceSpec> d;
  // NVIDIA A100 data sheet (SXM4): 80 GB HBM2e at 2,039 GB/s; 312 TFLOPS dense FP16/BF16 tensor; 400 W.
  // nvidia-smi reports 81,920 MiB, i.e. the "80 GB" are GiB.
  d.push_back({"a100-80gb", "NVIDIA A100 80GB SXM", true, 80 * kGiB, 2039 * kGB, 312 * kTera, 400});
  // Same data sheet: A100 40GB SXM4, 40 GB HBM2 at 1,555 GB/s, 312 TFLOPS, 400 W.
  d.push_back({"a100-40gb", "NVIDIA A100 40GB SXM", true, 40 * kGiB, 1555 * kGB, 312 * kTera, 400});
  // NVIDIA H100 data sheet (SXM5): 80 GB HBM3 at 3.35 TB/s; 989 TFLOPS dense BF16 (1,979 with sparsity); 700 W.
  d.push_back({"h100-80gb", "NVIDIA H100 80GB SXM", true, 80 * kGiB, 3350 * kGB, 989 * kTera, 700});
  // NVIDIA L40S data sheet: 48 GB GDDR6 at 864 GB/s; 362 TFLOPS dense FP16 tensor (733 with sparsity); 350 W.
  d.push_back({"l40s", "NVIDIA L40S 48GB", true, 48 * kGiB, 864 * kGB, 362 * kTera, 350});
  // GeForce RTX 4090: 24 GB GDDR6X at 1,008 GB/s; 165 TFLOPS dense FP16 tensor (FP16 accumulate); 450 W.
  d.push_back({"rtx4090", "NVIDIA GeForce RTX 4090 24GB", true, 24 * kGiB, 1008 * kGB, 165 * kTera, 450});
  // Jetson AGX Orin 64GB module: 64 GB LPDDR5 at 204.8 GB/s shared by CPU and GPU; 275 sparse INT8 TOPS
  // of which the GPU gives 170, so about 42.5 TFLOPS dense FP16; 15-60 W. Unified memory: the OS and
  // the CPU side take their share, hence the lower usable fraction.
  d.push_back({"jetson-orin-64gb", "NVIDIA Jetson AGX Orin 64GB", true, 64 * kGiB, 204.8 * kGB, 42.5 * kTera, 60});
  // A plain one-socket server: 8 channels of DDR4-3200 (8 x 25.6 GB/s = 204.8 GB/s), 256 GiB, 32 cores
  // with AVX2 (2 FMA x 8 floats x 2 = 32 FLOP/cycle at 2.5 GHz: 2.56 TFLOPS FP32); 280 W socket.
  // Use --device-memory / --device-bandwidth to describe another machine.
  d.push_back({"cpu", "CPU server, 8-channel DDR4-3200, 32 cores AVX2", false, 256 * kGiB, 204.8 * kGB, 2.56 * kTera, 280});

  for (auto& s : d) {
    if (s.name == "cpu") {
      // No driver context: the process itself with the libraries it maps (HTTP, TLS, SQLite, libpq,
      // DCMTK, image codecs), measured at about 19 MiB resident for `citadel --version` (the planner
      // adds the tokenizer's tables per vocabulary entry).
      s.usable_fraction = 0.85;
      s.runtime_overhead_bytes = 20ull << 20;
      s.bandwidth_efficiency = 0.5;  // llama.cpp-class CPU decoding reaches about half of STREAM peak
      s.flops_efficiency = 0.5;
      s.step_overhead_per_layer = 20e-6;  // a handful of thread-pool barriers per block
    } else if (s.name == "jetson-orin-64gb") {
      s.usable_fraction = 0.75;
      s.runtime_overhead_bytes = 1 * kGiB;
    } else {
      s.usable_fraction = 0.9;                 // as vLLM's default gpu_memory_utilization
      s.runtime_overhead_bytes = 3 * kGiB / 2;  // CUDA context (~0.5 GiB) + cuBLAS/graph workspaces
      s.step_overhead_per_layer = 40e-6;        // ~8 kernel launches of ~5 us per block
    }
  }
  return d;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

const std::vector<DeviceSpec>& device_catalog() {
  static const std::vector<DeviceSpec> catalog = make_catalog();
  return catalog;
}

const DeviceSpec& find_device(const std::string& name) {
  const std::string key = lower(name);
  for (const auto& d : device_catalog())
    if (d.name == key) return d;
  throw std::invalid_argument("unknown device '" + name + "' (known: " + device_names() + ")");
}

std::string device_names() {
  std::string out;
  for (const auto& d : device_catalog()) out += (out.empty() ? "" : ", ") + d.name;
  return out;
}

}  // namespace citadel
