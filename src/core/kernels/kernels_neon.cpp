// ARM NEON kernels (aarch64). Until the NEON set is written, aarch64 runs the scalar set.
#include "core/kernels/kernels_isa.h"

namespace citadel::kernels {
const KernelSet* neon_kernels() { return nullptr; }
}  // namespace citadel::kernels
