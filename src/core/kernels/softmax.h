// The softmax of attention: scores scaled by 1/sqrt(head size), then normalised exponentials;
// whole, or online over blocks of scores (flash attention: one block in memory at a time). The
// training attention (train/attention.cpp) uses it; the serving attention makes the same online
// step on a block's scores in registers (kernels::AttendBlock, the same rules for max and NaN).
#pragma once
#include <cstdint>

#include "core/kernels/kernels.h"

namespace citadel::kernels {

// In place over n > 0 scores: x[i] = exp(scale * x[i] - m) / sum_j exp(scale * x[j] - m), with m
// the largest *scaled* score, the exponentials by set.exp_sum. Finite inputs give finite weights
// that sum to 1 however far apart the scores are; a NaN score gives NaN weights (never hidden).
void softmax(const KernelSet& set, float* x, int64_t n, float scale);

// One block of an online softmax over n > 0 scores. *max (the largest scaled score so far; -inf
// before the first block) and *sum (sum of exp(scaled score - *max) so far; 0 before) are updated;
// x[i] becomes exp(scale * x[i] - new max). Returns exp(old max - new max): the factor by which
// whatever was accumulated with the old max's weights must be multiplied (0 on the first block).
// After the last block, weight i of block b is its x[i] times the product of the later blocks'
// factors, over *sum. softmax() is the one-block case.
float softmax_block(const KernelSet& set, float* x, int64_t n, float scale, float* max, float* sum);

}  // namespace citadel::kernels
