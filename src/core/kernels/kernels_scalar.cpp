// The portable kernels: the same integer sums as the SIMD sets, written plainly.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "core/kernels/kernels.h"
#include "core/quant_blocks.h"

namespace citadel::kernels {
namespace {

template <class Load>
float dot_float(Load w, const float* x, int64_t n) {
  float acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += w(i + l) * x[i + l];
  for (; i < n; ++i) acc[0] += w(i) * x[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

float dot_f32(const void* w, const void* x, int64_t n) {
  const auto* f = static_cast<const float*>(w);
  return dot_float([f](int64_t i) { return f[i]; }, static_cast<const float*>(x), n);
}
float dot_f16(const void* w, const void* x, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(w);
  return dot_float([h](int64_t i) { return fp16_to_fp32(h[i]); }, static_cast<const float*>(x), n);
}
float dot_bf16(const void* w, const void* x, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(w);
  return dot_float([h](int64_t i) { return bf16_to_fp32(h[i]); }, static_cast<const float*>(x), n);
}

// Legacy 32-value blocks: `value(b, j)` is the integer of value j; `min(b)` the format's min
// (0 if none). sum = d_w * d_x * sum(q * qx) + m_w * s_x.
template <class Block, class Value, class Min>
float dot_legacy(const void* w, const void* x, int64_t n, Value value, Min min) {
  const auto* b = static_cast<const Block*>(w);
  const auto* a = static_cast<const ActQ8_0*>(x);
  float sum = 0;
  for (int64_t i = 0; i < n / 32; ++i) {
    int isum = 0;
    for (int j = 0; j < 32; ++j) isum += value(b[i], j) * a[i].qs[j];
    sum += fp16_to_fp32(b[i].d) * a[i].d * static_cast<float>(isum) + min(b[i]) * a[i].s;
  }
  return sum;
}

int nibble(const uint8_t* qs, int j) { return j < 16 ? qs[j] & 0xF : qs[j - 16] >> 4; }
int bit5(const uint8_t* qh, int j) {
  uint32_t h;
  std::memcpy(&h, qh, 4);
  return static_cast<int>((h >> j) & 1) << 4;
}
constexpr auto kNoMin = [](const auto&) { return 0.0f; };
constexpr auto kMin = [](const auto& b) { return fp16_to_fp32(b.m); };

float dot_q8_0(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ8_0>(w, x, n, [](const BlockQ8_0& b, int j) { return int{b.qs[j]}; }, kNoMin);
}
float dot_q4_0(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ4_0>(w, x, n, [](const BlockQ4_0& b, int j) { return nibble(b.qs, j) - 8; }, kNoMin);
}
float dot_q4_1(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ4_1>(w, x, n, [](const BlockQ4_1& b, int j) { return nibble(b.qs, j); }, kMin);
}
float dot_q5_0(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ5_0>(
      w, x, n, [](const BlockQ5_0& b, int j) { return (nibble(b.qs, j) | bit5(b.qh, j)) - 16; }, kNoMin);
}
float dot_q5_1(const void* w, const void* x, int64_t n) {
  return dot_legacy<BlockQ5_1>(
      w, x, n, [](const BlockQ5_1& b, int j) { return nibble(b.qs, j) | bit5(b.qh, j); }, kMin);
}

// Q4_K / Q5_K: per super-block d_w*d_x*sum_j sc[j]*sum(q*qx) - dmin_w*d_x*sum_j m[j]*bsum32[j].
template <class Block, class Value>
float dot_k4(const void* w, const void* x, int64_t n, Value value) {
  const auto* b = static_cast<const Block*>(w);
  const auto* a = static_cast<const ActQ8_K*>(x);
  float sum = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    int isum = 0, msum = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      unpack_scale_min_k4(j, b[i].scales, &sc, &m);
      int s = 0;
      for (int l = 0; l < 32; ++l) s += value(b[i], 32 * j + l) * a[i].qs[32 * j + l];
      isum += sc * s;
      msum += m * (a[i].bsums[2 * j] + a[i].bsums[2 * j + 1]);
    }
    sum += a[i].d * (fp16_to_fp32(b[i].d) * static_cast<float>(isum) - fp16_to_fp32(b[i].dmin) * static_cast<float>(msum));
  }
  return sum;
}

// Value v of a Q4_K / Q5_K block: 64-value chunk c, low nibbles first then high nibbles.
int k_nibble(const uint8_t* qs, int v) {
  const int c = v / 64, l = v % 64;
  return l < 32 ? qs[32 * c + l] & 0xF : qs[32 * c + l - 32] >> 4;
}

float dot_q4_k(const void* w, const void* x, int64_t n) {
  return dot_k4<BlockQ4_K>(w, x, n, [](const BlockQ4_K& b, int v) { return k_nibble(b.qs, v); });
}
float dot_q5_k(const void* w, const void* x, int64_t n) {
  return dot_k4<BlockQ5_K>(w, x, n, [](const BlockQ5_K& b, int v) {
    const int c = v / 64, l = v % 64, bit = 2 * c + (l >= 32);
    return k_nibble(b.qs, v) | (((b.qh[l % 32] >> bit) & 1) << 4);
  });
}

float dot_q6_k(const void* w, const void* x, int64_t n) {
  const auto* b = static_cast<const BlockQ6_K*>(w);
  const auto* a = static_cast<const ActQ8_K*>(x);
  float sum = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    int isum = 0;
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = b[i].ql + 64 * h;
      const uint8_t* qh = b[i].qh + 32 * h;
      const int8_t* qx = a[i].qs + 128 * h;
      int s[8] = {};
      for (int l = 0; l < 32; ++l) {
        const int g = l / 16;
        s[0 + g] += (((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32) * qx[l];
        s[2 + g] += (((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32) * qx[l + 32];
        s[4 + g] += (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32) * qx[l + 64];
        s[6 + g] += (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32) * qx[l + 96];
      }
      for (int j = 0; j < 8; ++j) isum += b[i].scales[8 * h + j] * s[j];
    }
    sum += fp16_to_fp32(b[i].d) * a[i].d * static_cast<float>(isum);
  }
  return sum;
}

// --- attention helpers

void dot_rows(const float* rows, int64_t stride, int n_rows, const float* x, int64_t n, float* out) {
  for (int i = 0; i < n_rows; ++i) out[i] = dot_f32(rows + i * stride, x, n);
}

void axpy_rows(const float* rows, int64_t stride, int n_rows, const float* a, int64_t n, float* y) {
  for (int i = 0; i < n_rows; ++i)
    for (int64_t j = 0; j < n; ++j) y[j] += a[i] * rows[i * stride + j];
}

// The reference form of AttendBlock: each query's scores over the run of blocks, their
// online-softmax step, the values.
void attend_block(const AttendBlock& a) {
  constexpr int kKeys = AttendBlock::kKeys;
  auto key = [&](int64_t j, int r) {
    const int64_t at = kKeys * j + r % kKeys;
    return a.f16 ? fp16_to_fp32(static_cast<const uint16_t*>(a.keys[r / kKeys])[at])
                 : static_cast<const float*>(a.keys[r / kKeys])[at];
  };
  auto value = [&](int r, int64_t j) {
    const int64_t at = r % kKeys * a.v_stride + j;
    return a.f16 ? fp16_to_fp32(static_cast<const uint16_t*>(a.values[r / kKeys])[at])
                 : static_cast<const float*>(a.values[r / kKeys])[at];
  };
  for (int i = 0; i < a.nq; ++i) {
    const int n = a.seen[i];
    float s[kKeys * AttendBlock::kMaxBlocks];
    float m = a.max[i];
    for (int r = 0; r < n; ++r) {
      float dot = 0;
      for (int64_t j = 0; j < a.hd; ++j) dot += a.q[i][j] * key(j, r);
      s[r] = a.scale * dot;
      m = s[r] > m ? s[r] : m;  // a NaN never becomes the max
    }
    const float rescale = std::exp(a.max[i] - m);  // 0 on the first block (max from -inf)
    double total = 0;
    for (int r = 0; r < n; ++r) total += s[r] = std::exp(s[r] - m);
    a.sum[i] = a.sum[i] * rescale + static_cast<float>(total);
    a.max[i] = m;
    float* o = a.acc + i * a.hd;
    for (int64_t j = 0; j < a.hd; ++j) {
      float v = o[j] * rescale;
      for (int r = 0; r < n; ++r) v += s[r] * value(r, j);
      o[j] = v;
    }
  }
}

void to_f16(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = fp32_to_fp16(x[i]);
}

float exp_sum(float* x, int64_t n, float max) {
  double sum = 0;  // one float sum would drop the small terms once it reaches 1 (a sink head)
  for (int64_t i = 0; i < n; ++i) sum += x[i] = std::exp(x[i] - max);
  return static_cast<float>(sum);
}

void silu_mul(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

// The 8 rows of a rows8 group one by one, as dot_q4_0 (core/repack.h has the layout).
void dot_q4_0_rows8(const void* group, const void* x, int64_t n, float* out) {
  const auto* g = static_cast<const uint8_t*>(group);
  const auto* a = static_cast<const ActQ8_0*>(x);
  for (int r = 0; r < 8; ++r) {
    float sum = 0;
    for (int64_t b = 0; b < n / 32; ++b) {
      const uint8_t* blk = g + b * 144;
      uint16_t d;
      std::memcpy(&d, blk + 2 * r, 2);
      int isum = 0;
      for (int j = 0; j < 4; ++j)
        for (int i = 0; i < 4; ++i) {
          const uint8_t q = blk[16 + 32 * j + 4 * r + i];
          isum += ((q & 0xF) - 8) * a[b].qs[4 * j + i] + ((q >> 4) - 8) * a[b].qs[16 + 4 * j + i];
        }
      sum += fp16_to_fp32(d) * a[b].d * static_cast<float>(isum);
    }
    out[r] = sum;
  }
}

}  // namespace

const KernelSet& scalar_set() {
  static const KernelSet set = [] {
    KernelSet s{"scalar", dot_f32, dot_f16, dot_bf16, dot_q8_0, dot_q4_0,
                dot_q4_1, dot_q5_0, dot_q5_1, dot_q4_k, dot_q5_k, dot_q6_k};
    s.dot_rows = dot_rows;
    s.axpy_rows = axpy_rows;
    s.exp_sum = exp_sum;
    s.attend_block = attend_block;
    s.to_f16 = to_f16;
    s.silu_mul = silu_mul;
    s.dot_q4_0_rows8 = dot_q4_0_rows8;
    return s;
  }();
  return set;
}

}  // namespace citadel::kernels
