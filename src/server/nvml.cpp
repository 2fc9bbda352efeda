#include "server/nvml.h"

#include <dlfcn.h>

#include <mutex>

namespace citadel {

namespace {

// The few NVML entry points used, with the ABI from nvml.h (stable since the _v2 names).
using nvmlDevice_t = void*;
struct NvmlUtilization {
  unsigned gpu, memory;
};
struct NvmlMemory {
  unsigned long long total, free, used;
};

struct Nvml {
  bool ok = false;
  int (*device_count)(unsigned*) = nullptr;
  int (*device_by_index)(unsigned, nvmlDevice_t*) = nullptr;
  int (*utilization)(nvmlDevice_t, NvmlUtilization*) = nullptr;
  int (*memory)(nvmlDevice_t, NvmlMemory*) = nullptr;
  int (*name)(nvmlDevice_t, char*, unsigned) = nullptr;
  int (*uuid)(nvmlDevice_t, char*, unsigned) = nullptr;

  Nvml() {
    void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    auto init = reinterpret_cast<int (*)()>(dlsym(lib, "nvmlInit_v2"));
    device_count = reinterpret_cast<decltype(device_count)>(dlsym(lib, "nvmlDeviceGetCount_v2"));
    device_by_index = reinterpret_cast<decltype(device_by_index)>(dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"));
    utilization = reinterpret_cast<decltype(utilization)>(dlsym(lib, "nvmlDeviceGetUtilizationRates"));
    memory = reinterpret_cast<decltype(memory)>(dlsym(lib, "nvmlDeviceGetMemoryInfo"));
    name = reinterpret_cast<decltype(name)>(dlsym(lib, "nvmlDeviceGetName"));
    uuid = reinterpret_cast<decltype(uuid)>(dlsym(lib, "nvmlDeviceGetUUID"));
    ok = init && device_count && device_by_index && utilization && memory && name && uuid && init() == 0;
  }
};

}  // namespace

std::vector<GpuSample> nvml_sample() {
  static Nvml nvml;  // initialised once, thread-safely
  static std::mutex mu;
  std::vector<GpuSample> out;
  if (!nvml.ok) return out;
  std::lock_guard lock(mu);
  unsigned n = 0;
  if (nvml.device_count(&n) != 0) return out;
  for (unsigned i = 0; i < n; ++i) {
    nvmlDevice_t dev = nullptr;
    if (nvml.device_by_index(i, &dev) != 0) continue;
    GpuSample s;
    s.index = i;
    char buf[96] = {};
    if (nvml.name(dev, buf, sizeof buf) == 0) s.name = buf;
    char id[96] = {};
    if (nvml.uuid(dev, id, sizeof id) == 0) s.uuid = id;
    NvmlUtilization u{};
    NvmlMemory m{};
    if (nvml.utilization(dev, &u) != 0 || nvml.memory(dev, &m) != 0) continue;
    s.utilization = u.gpu / 100.0;
    s.memory_used_bytes = m.used;
    s.memory_total_bytes = m.total;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace citadel
