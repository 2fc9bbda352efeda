// Attention's softmax before the fix of issue 12 (max taken from scores[0] before scaling, then a
// division per weight: wrong when a head's first score is large) against kernels::softmax, per
// kernel set, on small scores (where the old code was right), in one run:
//   g++ -O2 -std=c++20 -Isrc bench/attention_softmax.cpp build/libcitadel_core.a -lpthread -o /tmp/sm && /tmp/sm
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>
#include "core/kernels/kernels.h"
#include "core/kernels/softmax.h"
using namespace citadel;
static void softmax_before_fix(const kernels::KernelSet& ks, float* scores, int64_t n_pos, float scale) {
  float max = scores[0];
  for (int64_t p = 0; p < n_pos; ++p) max = std::max(max, scores[p] *= scale);
  const float sum = ks.exp_sum(scores, n_pos, max);
  for (int64_t p = 0; p < n_pos; ++p) scores[p] /= sum;
}
int main() {
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0, 1);
  for (const kernels::KernelSet* ks : kernels::available()) {
    for (int64_t n : {128, 512, 2048}) {
      std::vector<float> base(n), x(n);
      for (auto& v : base) v = nd(rng);  // small scores: the old code is correct on them
      double best[2] = {1e9, 1e9};
      for (int round = 0; round < 7; ++round)
        for (int which = 0; which < 2; ++which) {
          const int reps = 200000 / n * 32;
          auto t0 = std::chrono::steady_clock::now();
          for (int r = 0; r < reps; ++r) {
            std::copy(base.begin(), base.end(), x.begin());
            if (which == 0) softmax_before_fix(*ks, x.data(), n, 0.125f);
            else kernels::softmax(*ks, x.data(), n, 0.125f);
          }
          double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
          best[which] = std::min(best[which], s);
        }
      std::printf("%-16s n_pos %5ld  before %.3f us  now %.3f us  now/before %.3f\n", ks->name, static_cast<long>(n),
                  best[0] * 1e6, best[1] * 1e6, best[1] / best[0]);
    }
  }
}
