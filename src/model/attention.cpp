#include "model/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/kernels/kernels.h"

namespace citadel {
namespace {

constexpr int64_t kTileTokens = 8;  // queries' tokens per job (times the heads of a KV head)

struct Tile {
  int64_t t0, t1;  // batch rows [t0, t1), all of one sequence
};

std::vector<Tile> token_tiles(const Batch& batch) {
  std::vector<Tile> tiles;
  for (int64_t t = 0; t < batch.size();) {
    int64_t e = t + 1;
    while (e < batch.size() && e - t < kTileTokens && batch.seq_ids[e] == batch.seq_ids[t]) ++e;
    tiles.push_back({t, e});
    t = e;
  }
  return tiles;
}

}  // namespace

void attention(const AttentionShape& shape, const Batch& batch, const float* q, const KvCache& kv, int64_t il,
               float scale, float* out, ThreadPool& pool) {
  const int64_t hd = shape.head_dim, q_dim = shape.n_head * hd, group = shape.n_head / shape.n_head_kv;
  const int64_t kv_stride = kv.kv_dim();
  constexpr int64_t kB = KvCache::kBlockSize;
  const std::vector<Tile> tiles = token_tiles(batch);
  const auto n_tiles = static_cast<int64_t>(tiles.size());
  // All heads of a KV head in one job, unless that leaves threads idle (decode of one sequence).
  const int64_t heads = n_tiles * shape.n_head_kv >= 2 * pool.size() ? group : 1;
  const int64_t jobs_per_kv_head = group / heads;
  const kernels::KernelSet& ks = kernels::active();
  const bool f16 = kv.type() == KvType::F16;

  pool.parallel_for(n_tiles * shape.n_head_kv * jobs_per_kv_head, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> acc, run_max, run_sum;
    thread_local std::vector<const float*> queries;
    thread_local std::vector<int> seen;
    for (int64_t job = begin; job < end; ++job) {
      const Tile tile = tiles[job / (shape.n_head_kv * jobs_per_kv_head)];
      const int64_t kvh = job / jobs_per_kv_head % shape.n_head_kv;
      const int64_t h0 = kvh * group + job % jobs_per_kv_head * heads;
      const int32_t seq = batch.seq_ids[tile.t0];
      // Query i: token t0 + i / heads, head h0 + i % heads.
      const int64_t nq = (tile.t1 - tile.t0) * heads;
      acc.assign(static_cast<size_t>(nq * hd), 0.0f);
      run_max.assign(static_cast<size_t>(nq), -INFINITY);
      run_sum.assign(static_cast<size_t>(nq), 0.0f);
      queries.resize(static_cast<size_t>(nq));
      seen.resize(static_cast<size_t>(nq));
      for (int64_t i = 0; i < nq; ++i) queries[i] = q + (tile.t0 + i / heads) * q_dim + (h0 + i % heads) * hd;
      int64_t n_pos = 0;  // positions the tile's last-placed token sees
      for (int64_t t = tile.t0; t < tile.t1; ++t) n_pos = std::max<int64_t>(n_pos, batch.positions[t] + 1);
      const size_t value_bytes = f16 ? 2 : 4;
      constexpr int kPair = kernels::AttendBlock::kMaxBlocks;
      for (int64_t b = 0; b * kB < n_pos; b += kPair) {
        // Up to kPair blocks per call. A query that sees none of them (later blocks than its
        // token's) is left as it is: block 0, which every query sees, came first.
        const int n_blocks = static_cast<int>(std::min<int64_t>(kPair, (n_pos - b * kB + kB - 1) / kB));
        for (int64_t i = 0; i < nq; ++i)
          seen[i] = static_cast<int>(
              std::clamp<int64_t>(batch.positions[tile.t0 + i / heads] + 1 - b * kB, 0, n_blocks * kB));
        kernels::AttendBlock a{n_blocks, {}, {}, kv_stride, f16, hd, scale, static_cast<int>(nq), queries.data(),
                               seen.data(), run_max.data(), run_sum.data(), acc.data()};
        for (int k = 0; k < n_blocks; ++k) {
          a.keys[k] = static_cast<const uint8_t*>(kv.k_block(il, seq, b + k)) + kvh * hd * kB * value_bytes;
          a.values[k] = static_cast<const uint8_t*>(kv.v_block(il, seq, b + k)) + kvh * hd * value_bytes;
        }
        ks.attend_block(a);
      }
      for (int64_t i = 0; i < nq; ++i) {
        const int64_t t = tile.t0 + i / heads, h = h0 + i % heads;
        const float inv = 1.0f / run_sum[i];
        float* oh = out + t * q_dim + h * hd;
        for (int64_t j = 0; j < hd; ++j) oh[j] = acc[i * hd + j] * inv;
      }
    }
  });
}

}  // namespace citadel
