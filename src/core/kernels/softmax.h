// The softmax of attention: scores scaled by 1/sqrt(head size), then normalised exponentials.
#pragma once
#include <cstdint>

#include "core/kernels/kernels.h"

namespace citadel::kernels {

// In place over n > 0 scores: x[i] = exp(scale * x[i] - m) / sum_j exp(scale * x[j] - m), with m
// the largest *scaled* score, the exponentials by set.exp_sum. Finite inputs give finite weights
// that sum to 1 however far apart the scores are; a NaN score gives NaN weights (never hidden).
void softmax(const KernelSet& set, float* x, int64_t n, float scale);

}  // namespace citadel::kernels
