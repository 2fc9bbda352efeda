#include "core/kernels/kernels.h"

#include <cstdlib>
#include <cstring>

#include "core/cpu_features.h"
#include "core/kernels/kernels_isa.h"

namespace citadel::kernels {

DotFn KernelSet::dot(TensorType type) const {
  switch (type) {
    case TensorType::F32: return f32;
    case TensorType::F16: return f16;
    case TensorType::BF16: return bf16;
    case TensorType::Q8_0: return q8_0;
    case TensorType::Q4_0: return q4_0;
    case TensorType::Q4_1: return q4_1;
    case TensorType::Q5_0: return q5_0;
    case TensorType::Q5_1: return q5_1;
    case TensorType::Q4_K: return q4_k;
    case TensorType::Q5_K: return q5_k;
    case TensorType::Q6_K: return q6_k;
    default: return nullptr;
  }
}

TileFn KernelSet::tile(TensorType type) const {
  switch (type) {
    case TensorType::Q8_0: return tile_q8_0;
    case TensorType::Q4_0: return tile_q4_0;
    case TensorType::Q4_K: return tile_q4_k;
    case TensorType::Q6_K: return tile_q6_k;
    case TensorType::F16: return tile_f16;
    case TensorType::BF16: return tile_bf16;
    default: return nullptr;
  }
}

ActFormat act_format(TensorType type) {
  switch (type) {
    case TensorType::Q8_0: case TensorType::Q4_0: case TensorType::Q4_1: case TensorType::Q5_0:
    case TensorType::Q5_1:
      return ActFormat::Q8_0;
    case TensorType::Q4_K: case TensorType::Q5_K: case TensorType::Q6_K:
      return ActFormat::Q8_K;
    default:
      return ActFormat::F32;
  }
}

const KernelSet* avx2_set() {
  const CpuFeatures& f = cpu_features();
  return f.avx2 && f.fma && f.f16c ? avx2_kernels() : nullptr;
}

const KernelSet* avx512_set() {
  const CpuFeatures& f = cpu_features();
  return f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.avx2 && f.fma && f.f16c ? avx512_kernels() : nullptr;
}

const KernelSet* avx512_emulated_set() {
  const CpuFeatures& f = cpu_features();
  return f.avx2 && f.fma && f.f16c ? avx512_emulated_kernels() : nullptr;
}

const KernelSet* neon_set() { return cpu_features().neon ? neon_kernels() : nullptr; }

bool has_kernels(TensorType type) { return scalar_set().dot(type) != nullptr; }

std::vector<const KernelSet*> available() {
  std::vector<const KernelSet*> sets{&scalar_set()};
  if (const KernelSet* s = avx2_set()) sets.push_back(s);
  if (const KernelSet* s = avx512_set()) sets.push_back(s);
  const char* want = std::getenv("CITADEL_ISA");
  if (const KernelSet* s = avx512_emulated_set(); s && (!avx512_set() || (want && std::strcmp(want, s->name) == 0)))
    sets.push_back(s);
  if (const KernelSet* s = neon_set()) sets.push_back(s);
  return sets;
}

namespace {

// A set with the helpers it lacks taken from the scalar set.
KernelSet completed(const KernelSet& s) {
  KernelSet set = s;
  const KernelSet& portable = scalar_set();
  if (!set.dot_rows) set.dot_rows = portable.dot_rows;
  if (!set.axpy_rows) set.axpy_rows = portable.axpy_rows;
  if (!set.exp_sum) set.exp_sum = portable.exp_sum;
  if (!set.attend_block) set.attend_block = portable.attend_block;
  if (!set.to_f16) set.to_f16 = portable.to_f16;
  if (!set.quantize_act) set.quantize_act = kernels::quantize_act;
  if (!set.silu_mul) set.silu_mul = portable.silu_mul;
  if (!set.dot_q4_0_rows8) set.dot_q4_0_rows8 = portable.dot_q4_0_rows8;
  return set;
}

KernelSet& chosen() {
  static KernelSet set = [] {
    const auto sets = available();
    const KernelSet* pick = nullptr;  // the widest native one this CPU runs (they come in that order)
    for (const KernelSet* s : sets)
      if (!s->emulated) pick = s;
    if (const char* want = std::getenv("CITADEL_ISA"))
      for (const KernelSet* s : sets)
        if (std::strcmp(s->name, want) == 0) pick = s;
    return completed(*pick);
  }();
  return set;
}

}  // namespace

const KernelSet& active() { return chosen(); }

void use_for_testing(const KernelSet& set) { chosen() = completed(set); }

}  // namespace citadel::kernels
