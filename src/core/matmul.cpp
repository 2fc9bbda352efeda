#include "core/matmul.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/quant.h"
#include "core/repack.h"

namespace citadel {
namespace {

// Rows per tile when several tokens are multiplied: the tile's weights stay in L1/L2 while
// every token's activation row streams past them, so weights are read from memory once.
constexpr int kTileRows = 16;
// ... and for the float tiles (F16, BF16), whose activations are 4 bytes a value: every tile
// reads all of them again (pp128 through a 8192-wide ffn_down: 4 MB, from L3), so fewer, taller
// tiles (measured: a fifth of the prefill time went to that re-reading with 16 rows).
constexpr int kFloatTileRows = 64;
// Groups of 8 tokens per call of a TileFn: 64 tokens of activations (about 160 KB for 4096
// columns) stay in L2 while the tile's rows pass over them.
constexpr int kTileGroups = 8;
// ... and at most this many bytes of them (float groups are 4x the size of 8-bit ones).
constexpr size_t kTileBytes = 512 * 1024;
// Tokens left over after the whole groups go through a tile too, padded with zero rows to a
// group of 8, when there are at least this many: one pass over the weights instead of one per
// token (a decode step of a few concurrent sequences is such a batch). Fewer go through `dot`.
constexpr int64_t kPadFrom = 3;

}  // namespace

void matmul(const Tensor& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  const MatmulOut out{&w, y};
  matmul(&out, 1, x, n_tokens, pool);
}

namespace {

// x in one activation format: quantized rows (zero rows up to a whole group when the last group
// is padded) and, for the tiles, the groups of 8 interleaved.
struct PreparedInput {
  bool used = false, tiles = false;
  size_t row_bytes = 0, group_bytes = 0;
  std::vector<uint8_t> rows, groups;
};

// One weight matrix of the call, with what its rows need.
struct Job {
  const Tensor* w;
  float* y;
  kernels::DotFn dot;
  kernels::TileFn tile;  // null: every token through dot
  const PreparedInput* in;
  int64_t first_chunk;   // over all jobs
  int chunk_rows;        // rows per chunk: kTileRows, or kFloatTileRows for a float tile
  int per_call;          // groups per tile call
};

}  // namespace

void matmul(const MatmulOut* outs, int count, const float* x, int64_t n_tokens, ThreadPool& pool) {
  if (count <= 0 || n_tokens <= 0) return;
  const int64_t k = outs[0].w->cols();
  const kernels::KernelSet& ks = kernels::active();

  // Tiles take whole groups of 8 tokens, the last one padded with zero rows (kPadFrom).
  const int64_t rem = n_tokens % 8;
  const bool may_tile = n_tokens >= kPadFrom;
  const bool padded = rem >= kPadFrom;
  const int n_groups = static_cast<int>(n_tokens / 8 + (padded ? 1 : 0));
  const int full_groups = n_groups - (padded ? 1 : 0);  // groups whose 8 outputs are all real

  // By ActFormat; the workers reach them through this pointer (a thread_local named in a lambda
  // would be each worker's own).
  thread_local PreparedInput prepared[3];
  PreparedInput* const inputs = prepared;
  for (int f = 0; f < 3; ++f) inputs[f].used = inputs[f].tiles = false;
  std::vector<Job> jobs(static_cast<size_t>(count));
  int64_t chunks = 0;
  for (int i = 0; i < count; ++i) {
    const Tensor& w = *outs[i].w;
    if (w.cols() != k) throw std::invalid_argument("matmul: " + w.name + " is not as wide as the input");
    Job& j = jobs[static_cast<size_t>(i)];
    j = {&w, outs[i].y, ks.dot(w.type), may_tile ? ks.tile(w.type) : nullptr, nullptr, chunks, kTileRows, kTileGroups};
    if (j.tile && kernels::act_format(w.type) == kernels::ActFormat::F32) j.chunk_rows = kFloatTileRows;
    if (!j.dot) throw std::invalid_argument("matmul: unsupported tensor type " + type_name(w.type));
    row_bytes(w.type, k);  // throws unless k is a multiple of the block size
    PreparedInput& in = inputs[static_cast<int>(kernels::act_format(w.type))];
    in.used = true;
    in.tiles |= j.tile != nullptr;
    j.in = &in;
    chunks += (w.rows() + j.chunk_rows - 1) / j.chunk_rows;
  }

  // Quantize the activations once per format (every row of every w reads them), interleave the
  // groups for the tiles; one pass of the threads over groups of 8 tokens.
  const int64_t n_units = (n_tokens + 7) / 8;
  for (int f = 0; f < 3; ++f) {
    PreparedInput& in = inputs[f];
    if (!in.used) continue;
    const auto fmt = static_cast<kernels::ActFormat>(f);
    in.row_bytes = kernels::act_row_bytes(fmt, k);
    const int64_t n_rows = in.tiles && padded ? 8 * static_cast<int64_t>(n_groups) : n_tokens;
    const bool copy = fmt != kernels::ActFormat::F32 || in.tiles;  // floats are read in place unless tiled
    if (copy && in.rows.size() < in.row_bytes * n_rows) in.rows.resize(in.row_bytes * n_rows);
    in.group_bytes = in.tiles ? kernels::act_group_bytes(fmt, k) : 0;
    if (in.tiles && in.groups.size() < in.group_bytes * n_groups) in.groups.resize(in.group_bytes * n_groups);
  }
  auto prepare = [&](int64_t u0, int64_t u1) {
    for (int f = 0; f < 3; ++f) {
      PreparedInput& in = inputs[f];
      const auto fmt = static_cast<kernels::ActFormat>(f);
      if (!in.used || (fmt == kernels::ActFormat::F32 && !in.tiles)) continue;
      uint8_t* rows = in.rows.data();
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t t0 = 8 * u, t1 = std::min(n_tokens, t0 + 8);
        for (int64_t t = t0; t < t1; ++t) ks.quantize_act(fmt, x + t * k, rows + t * in.row_bytes, k);
        if (!in.tiles || u >= n_groups) continue;
        if (t1 - t0 < 8) std::fill(rows + t1 * in.row_bytes, rows + (t0 + 8) * in.row_bytes, uint8_t{0});
        kernels::pack_act_x8(fmt, rows + t0 * in.row_bytes, in.row_bytes, k, in.groups.data() + u * in.group_bytes);
      }
    }
  };
  if (n_tokens == 1) prepare(0, 1);
  else pool.parallel_for(n_units, prepare);

  // Groups of tokens per tile call, small enough that their activations stay in cache next to
  // the tile. (Float tiles of kFloatTileRows rows take kTileGroups groups: they stream the rows'
  // weights again for every call, and their activations were read from L3 anyway.) The whole
  // groups are taken in spans of the smallest call's groups: work item c is row chunk c % chunks
  // of span c / chunks, so all of a matrix's row chunks read a span's activations from L2 before
  // the next span (a thread's run of items stays within a span). Streaming a 2048-token prompt's
  // activations (4-12 MB) once per row chunk instead cost 10-20% of the matmul (measured in one
  // process, alternating: Q4_0, Q8_0, F16, 1 and 2 threads); the weights, read once per span now,
  // cost little. The padded group and the single tokens go with the last span. (A Q4_0 matrix in
  // the rows8 layout under a set without an in-place tile gathers its chunk's rows for every span:
  // with it, one span — spans of 8 and of 32 groups cost AVX2 5% at 128 and at 512 tokens.)
  int span_groups = kTileGroups;
  bool gathers = false;
  for (Job& j : jobs) {
    if (!j.tile || j.chunk_rows == kFloatTileRows) continue;
    j.per_call = static_cast<int>(std::clamp<size_t>(kTileBytes / j.in->group_bytes, 1, kTileGroups));
    span_groups = std::min(span_groups, j.per_call);
    gathers |= j.w->rows8 && !ks.tile_q4_0_rows8;
  }
  if (gathers) span_groups = std::max(full_groups, 1);
  const int64_t n_spans = std::max<int64_t>(1, (full_groups + span_groups - 1) / span_groups);

  pool.parallel_for(n_spans * chunks, [&](int64_t c0, int64_t c1) {
    thread_local std::vector<uint8_t> tile_scratch;
    thread_local std::vector<float> pad_out;  // the padded group's 8 x nr outputs
    size_t ji = 0;
    for (int64_t item = c0; item < c1; ++item) {
      const int64_t span = item / chunks, c = item % chunks;
      const bool last_span = span == n_spans - 1;
      if (jobs[ji].first_chunk > c) ji = 0;
      while (ji + 1 < jobs.size() && jobs[ji + 1].first_chunk <= c) ++ji;
      const Job& j = jobs[ji];
      const Tensor& w = *j.w;
      const int64_t m = w.rows(), rb = (c - j.first_chunk) * j.chunk_rows;
      const int nr = static_cast<int>(std::min<int64_t>(j.chunk_rows, m - rb));
      const auto* base = static_cast<const uint8_t*>(w.data);
      const size_t w_stride = w.row_size();
      const uint8_t* wt = base + rb * w_stride;
      kernels::TileFn tile = j.tile;
      if (w.rows8 && tile && ks.tile_q4_0_rows8) {
        tile = ks.tile_q4_0_rows8;  // reads this chunk's groups in place (rb * w_stride is row rb's group)
      } else if (w.rows8 && tile) {  // tile_q4_0 reads rows in the file's layout: gather this chunk's
        thread_local std::vector<BlockQ4_0> plain;
        const int64_t nb = k / 32;
        plain.resize(static_cast<size_t>(nr * nb));
        for (int r = 0; r < nr; ++r) rows8_row(w, rb + r, plain.data() + r * nb);
        wt = reinterpret_cast<const uint8_t*>(plain.data());
      }
      const uint8_t* xb = kernels::act_format(w.type) == kernels::ActFormat::F32 ? reinterpret_cast<const uint8_t*>(x)
                                                                                 : j.in->rows.data();
      const size_t x_stride = j.in->row_bytes;
      int64_t first_single = 0;
      if (j.tile) {
        if (tile_scratch.size() < kernels::tile_scratch_bytes(k)) tile_scratch.resize(kernels::tile_scratch_bytes(k));
        const uint8_t* xp = j.in->groups.data();
        const int g_end = static_cast<int>(std::min<int64_t>(full_groups, (span + 1) * span_groups));
        for (int g0 = static_cast<int>(span * span_groups); g0 < g_end; g0 += j.per_call)
          tile(wt, w_stride, nr, xp + g0 * j.in->group_bytes, std::min(j.per_call, g_end - g0), k,
                 j.y + 8 * g0 * m + rb, m, tile_scratch.data());
        if (!last_span) continue;
        if (padded) {
          pad_out.resize(8 * static_cast<size_t>(nr));
          tile(wt, w_stride, nr, xp + full_groups * j.in->group_bytes, 1, k, pad_out.data(), nr, tile_scratch.data());
          for (int64_t t = 0; t < rem; ++t)
            std::copy(pad_out.data() + t * nr, pad_out.data() + (t + 1) * nr, j.y + (8 * full_groups + t) * m + rb);
        }
        first_single = padded ? n_tokens : 8 * static_cast<int64_t>(full_groups);
      }
      if (!last_span) continue;
      for (int64_t t = first_single; t < n_tokens; ++t) {
        const uint8_t* xt = xb + t * x_stride;
        float* yt = j.y + t * m;
        if (w.rows8) {  // 8 rows per call (nr and rb are multiples of 8)
          const size_t group_bytes = static_cast<size_t>(k / 32) * kRows8BlockBytes;
          for (int64_t r = rb; r < rb + nr; r += 8) ks.dot_q4_0_rows8(base + r / 8 * group_bytes, xt, k, yt + r);
        } else {
          for (int64_t r = rb; r < rb + nr; ++r) yt[r] = j.dot(base + r * w_stride, xt, k);
        }
      }
    }
  });
}

void get_row(const Tensor& w, int64_t r, float* out) {
  if (r < 0 || r >= w.rows()) throw std::out_of_range("row " + std::to_string(r) + " outside tensor " + w.name);
  if (w.rows8) {
    std::vector<BlockQ4_0> row(static_cast<size_t>(w.cols() / 32));
    rows8_row(w, r, row.data());
    dequantize_row(w.type, row.data(), out, w.cols());
    return;
  }
  dequantize_row(w.type, w.row(r), out, w.cols());
}

}  // namespace citadel
