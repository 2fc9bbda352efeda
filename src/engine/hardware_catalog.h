// The accelerators (and plain CPU servers) that `citadel plan` can size a deployment for.
// Figures are the vendors' published data-sheet values; the planner derates them with the
// efficiency factors below because no kernel reaches peak bandwidth or FLOPs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace citadel {

struct DeviceSpec {
  std::string name;            // "a100-80gb", as typed on the command line
  std::string description;     // "NVIDIA A100 80GB SXM"
  bool is_gpu = true;          // GPUs shard a model by tensor parallelism (counts must divide heads)
  uint64_t memory_bytes = 0;   // memory one device offers to a model
  double bandwidth = 0;        // bytes/s, peak memory bandwidth
  double flops = 0;            // FLOP/s, peak dense FP16/BF16 (tensor cores on GPUs)
  double watts = 0;            // board power (TDP), for energy cost
  double usable_fraction = 0.9;      // share of memory the runtime may take (rest: driver, OS, fragmentation)
  uint64_t runtime_overhead_bytes = 0;  // per device: CUDA context, cuBLAS workspace, process itself
  double bandwidth_efficiency = 0.6;  // share of peak bandwidth decode kernels reach
  double flops_efficiency = 0.5;      // share of peak FLOPs matmuls reach
  double step_overhead_per_layer = 40e-6;  // s per block per step: kernel launches / thread barriers
};

// All known devices, in catalog order.
const std::vector<DeviceSpec>& device_catalog();
// The device called `name` (case-insensitive); throws std::invalid_argument listing the known ones.
const DeviceSpec& find_device(const std::string& name);
// "a100-80gb, a100-40gb, ..." for help texts and errors.
std::string device_names();

}  // namespace citadel
