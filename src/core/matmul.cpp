#include "core/matmul.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/quant.h"

namespace citadel {
namespace {

// Rows per tile when several tokens are multiplied: the tile's weights stay in L1/L2 while
// every token's activation row streams past them, so weights are read from memory once.
constexpr int kTileRows = 16;
// Groups of 8 tokens per call of a TileFn: 64 tokens of activations (about 160 KB for 4096
// columns) stay in L2 while the tile's rows pass over them.
constexpr int kTileGroups = 8;
// Tokens left over after the whole groups go through a tile too, padded with zero rows to a
// group of 8, when there are at least this many: one pass over the weights instead of one per
// token (a decode step of a few concurrent sequences is such a batch). Fewer go through `dot`.
constexpr int64_t kPadFrom = 3;

}  // namespace

void matmul(const Tensor& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  const int64_t k = w.cols(), m = w.rows();
  const kernels::KernelSet& ks = kernels::active();
  const kernels::DotFn dot = ks.dot(w.type);
  if (!dot) throw std::invalid_argument("matmul: unsupported tensor type " + type_name(w.type));
  row_bytes(w.type, k);  // throws unless k is a multiple of the block size

  // Prefill with a tile kernel: whole groups of 8 tokens, the last one padded (kPadFrom).
  const kernels::TileFn tile = n_tokens >= kPadFrom ? ks.tile(w.type) : nullptr;
  const int64_t rem = n_tokens % 8;
  const bool padded = tile && rem >= kPadFrom;
  const int n_groups = tile ? static_cast<int>(n_tokens / 8 + (padded ? 1 : 0)) : 0;
  const int64_t rows_quantized = padded ? 8 * static_cast<int64_t>(n_groups) : n_tokens;

  // Quantize the activations once; every row of w reads them. Pad rows are zeros (d = 0).
  const kernels::ActFormat fmt = kernels::act_format(w.type);
  const size_t x_stride = kernels::act_row_bytes(fmt, k);
  const void* xq = x;
  thread_local std::vector<uint8_t> scratch;
  if (fmt != kernels::ActFormat::F32) {
    if (scratch.size() < x_stride * rows_quantized) scratch.resize(x_stride * rows_quantized);
    uint8_t* out = scratch.data();
    auto quantize = [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) ks.quantize_act(fmt, x + t * k, out + t * x_stride, k);
    };
    if (n_tokens == 1) quantize(0, 1);
    else pool.parallel_for(n_tokens, quantize);
    std::fill(out + n_tokens * x_stride, out + rows_quantized * x_stride, uint8_t{0});
    xq = out;
  }
  const auto* xb = static_cast<const uint8_t*>(xq);
  const auto* base = static_cast<const uint8_t*>(w.data);
  const size_t w_stride = w.row_size();

  // Interleave the groups once for the tiles.
  const size_t group_bytes = n_groups ? kernels::act_group_bytes(fmt, k) : 0;
  thread_local std::vector<uint8_t> packed;
  if (n_groups) {
    if (packed.size() < n_groups * group_bytes) packed.resize(n_groups * group_bytes);
    uint8_t* out = packed.data();
    pool.parallel_for(n_groups, [&](int64_t g0, int64_t g1) {
      for (int64_t g = g0; g < g1; ++g) kernels::pack_act_x8(fmt, xb + 8 * g * x_stride, x_stride, k, out + g * group_bytes);
    });
  }
  const uint8_t* xp = packed.data();
  const int full_groups = n_groups - (padded ? 1 : 0);   // groups whose 8 outputs are all real
  const int64_t first_single = tile ? (padded ? n_tokens : 8 * static_cast<int64_t>(full_groups)) : 0;

  pool.parallel_for(m, [&](int64_t r0, int64_t r1) {
    thread_local std::vector<uint8_t> tile_scratch;
    thread_local std::vector<float> pad_out;  // the padded group's 8 x kTileRows outputs
    if (n_groups && tile_scratch.size() < kernels::tile_scratch_bytes(k)) tile_scratch.resize(kernels::tile_scratch_bytes(k));
    if (padded) pad_out.resize(8 * kTileRows);
    for (int64_t rb = r0; rb < r1; rb += kTileRows) {
      const int nr = static_cast<int>(std::min<int64_t>(kTileRows, r1 - rb));
      const uint8_t* wt = base + rb * w_stride;
      // Groups of tokens small enough that their activations stay in cache next to the tile.
      for (int g0 = 0; g0 < full_groups; g0 += kTileGroups)
        tile(wt, w_stride, nr, xp + g0 * group_bytes, std::min(kTileGroups, full_groups - g0), k, y + 8 * g0 * m + rb, m,
             tile_scratch.data());
      if (padded) {
        tile(wt, w_stride, nr, xp + full_groups * group_bytes, 1, k, pad_out.data(), kTileRows, tile_scratch.data());
        for (int64_t t = 0; t < rem; ++t)
          std::copy(pad_out.data() + t * kTileRows, pad_out.data() + t * kTileRows + nr, y + (8 * full_groups + t) * m + rb);
      }
      for (int64_t t = first_single; t < n_tokens; ++t) {
        const uint8_t* xt = xb + t * x_stride;
        float* yt = y + t * m;
        for (int64_t r = rb; r < rb + nr; ++r) yt[r] = dot(base + r * w_stride, xt, k);
      }
    }
  }, kTileRows);
}

void get_row(const Tensor& w, int64_t r, float* out) {
  if (r < 0 || r >= w.rows()) throw std::out_of_range("row " + std::to_string(r) + " outside tensor " + w.name);
  dequantize_row(w.type, w.row(r), out, w.cols());
}

}  // namespace citadel
