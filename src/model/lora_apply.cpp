#include "model/lora_apply.h"

#include <algorithm>
#include <vector>

#include "core/gemm_f32.h"

namespace citadel {

void lora_forward(const LoraPair& p, float scale, const float* x, int64_t n, float* y, ThreadPool& pool, float* u) {
  std::vector<float> own_u, delta(static_cast<size_t>(n * p.out));
  if (!u) {
    own_u.resize(static_cast<size_t>(n * p.rank));
    u = own_u.data();
  }
  gemm_abt(x, p.a.data(), u, n, p.rank, p.in, pool);
  gemm_abt(u, p.b.data(), delta.data(), n, p.out, p.rank, pool);
  for (int64_t i = 0; i < n * p.out; ++i) y[i] += scale * delta[i];
}

void apply_lora(const Batch& batch, int il, LoraTarget target, const float* x, int64_t in, float* y, int64_t out,
                ThreadPool& pool) {
  const int64_t n = batch.size();
  if (static_cast<int64_t>(batch.lora.size()) != n) return;
  if (std::all_of(batch.lora.begin(), batch.lora.end(), [](const LoraStack* s) { return !s || s->empty(); })) return;

  // Runs of consecutive rows with the same adapters (a prompt chunk is one run; decode rows of
  // the same adapter are gathered into one group so their products share a pass over A and B).
  std::vector<const LoraStack*> stacks;
  std::vector<std::vector<int64_t>> rows;
  for (int64_t t = 0; t < n; ++t) {
    const LoraStack* s = batch.lora[t];
    if (!s || s->empty()) continue;
    auto it = std::find(stacks.begin(), stacks.end(), s);
    if (it == stacks.end()) {
      stacks.push_back(s);
      rows.emplace_back();
      it = stacks.end() - 1;
    }
    rows[it - stacks.begin()].push_back(t);
  }
  std::vector<float> xg, yg;
  for (size_t g = 0; g < stacks.size(); ++g) {
    const std::vector<int64_t>& r = rows[g];
    const int64_t m = static_cast<int64_t>(r.size());
    const bool contiguous = r.back() - r.front() + 1 == m;
    for (const LoraRef& ref : stacks[g]->refs) {
      const LoraPair* p = ref.adapter->get(il, target);
      if (!p) continue;
      if (p->in != in || p->out != out) continue;  // checked at load; never mixes shapes
      const float scale = ref.scale * ref.adapter->scale(*p);
      if (contiguous) {
        lora_forward(*p, scale, x + r.front() * in, m, y + r.front() * out, pool);
        continue;
      }
      xg.resize(static_cast<size_t>(m * in));
      yg.assign(static_cast<size_t>(m * out), 0.0f);
      for (int64_t i = 0; i < m; ++i) std::copy(x + r[i] * in, x + (r[i] + 1) * in, xg.data() + i * in);
      lora_forward(*p, scale, xg.data(), m, yg.data(), pool);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < out; ++j) y[r[i] * out + j] += yg[i * out + j];
    }
  }
}

}  // namespace citadel
