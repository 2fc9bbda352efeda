#include "reference_model.h"

#include <cmath>
#include <stdexcept>

#include "core/fp16.h"
#include "core/gguf.h"
#include "core/quant.h"

namespace citadel::test {
namespace {

using Vec = std::vector<double>;

// A weight matrix, rows x cols row-major (GGUF shape {cols, rows}), dequantized once.
struct Matrix {
  int64_t rows = 0, cols = 0;
  Vec w;
  int64_t act_block = 0;  // inputs are quantized in blocks of this many values (0: used as they are)
  bool present() const { return rows > 0; }
};

Matrix read_matrix(const GgufFile& f, const std::string& name, bool quantize_activations) {
  Matrix m;
  const GgufTensorInfo* t = f.find_tensor(name);
  if (!t) return m;
  m.cols = t->shape[0];
  m.rows = t->shape.size() > 1 ? t->shape[1] : 1;
  m.w.resize(static_cast<size_t>(m.rows * m.cols));
  std::vector<float> row(static_cast<size_t>(m.cols));
  const size_t stride = row_bytes(t->type, m.cols);
  for (int64_t r = 0; r < m.rows; ++r) {
    dequantize_row(t->type, static_cast<const uint8_t*>(t->data) + r * stride, row.data(), m.cols);
    for (int64_t c = 0; c < m.cols; ++c) m.w[r * m.cols + c] = row[c];
  }
  const int64_t block = type_traits(t->type).block_size;
  if (quantize_activations && block > 1) m.act_block = block;  // Q8_0 inputs for 32, Q8_K for 256
  return m;
}

// 8-bit symmetric blocks: d = max|x| / 127, x -> round_half_even(x / d) * d.
Vec quantized(const Vec& x, int64_t block) {
  Vec out(x.size());
  for (size_t b = 0; b < x.size(); b += block) {
    double amax = 0;
    for (int64_t i = 0; i < block; ++i) amax = std::max(amax, std::fabs(x[b + i]));
    const double d = static_cast<float>(amax / 127.0);  // the scale is stored as a float
    for (int64_t i = 0; i < block; ++i) out[b + i] = d ? std::nearbyint(x[b + i] / d) * d : 0.0;
  }
  return out;
}

Vec matvec(const Matrix& m, const Vec& x) {
  if (static_cast<int64_t>(x.size()) != m.cols) throw std::logic_error("reference: matrix width mismatch");
  const Vec in = m.act_block ? quantized(x, m.act_block) : x;
  Vec y(static_cast<size_t>(m.rows), 0.0);
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t c = 0; c < m.cols; ++c) y[r] += m.w[r * m.cols + c] * in[c];
  return y;
}

void add_to(Vec& x, const Matrix& b) {  // x += b, if the model has b
  if (b.present())
    for (size_t i = 0; i < x.size(); ++i) x[i] += b.w[i];
}

Vec rms_norm(const Vec& x, const Matrix& weight, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
  Vec out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = x[i] * scale * weight.w[i];
  return out;
}

Vec layer_norm(const Vec& x, const Matrix& weight, const Matrix& bias, double eps) {
  double mean = 0, var = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  for (double v : x) var += (v - mean) * (v - mean);
  const double scale = 1.0 / std::sqrt(var / static_cast<double>(x.size()) + eps);
  Vec out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = (x[i] - mean) * scale * weight.w[i] + (bias.present() ? bias.w[i] : 0.0);
  return out;
}

double silu(double x) { return x / (1.0 + std::exp(-x)); }
double gelu(double x) { return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x))); }
double half(double x) { return fp16_to_fp32(fp32_to_fp16(static_cast<float>(x))); }  // IEEE rounding

struct Layer {
  Matrix attn_norm, attn_norm_b, attn_norm_2, attn_norm_2_b;
  Matrix wq, wk, wv, wqkv, wo, bq, bk, bv, bqkv, bo, q_norm, k_norm;
  Matrix ffn_norm, ffn_gate, ffn_up, ffn_down, ffn_up_b, ffn_down_b;
  std::vector<Vec> keys, values;  // per position: n_head_kv * head_dim
};

}  // namespace

void reference_rope(double* head, int64_t n_rot, int64_t pos, double base, double freq_scale,
                    const float* freq_factors, bool neox) {
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    double angle = static_cast<double>(pos) * freq_scale * std::pow(base, -2.0 * static_cast<double>(i) / n_rot);
    if (freq_factors) angle /= freq_factors[i];
    const int64_t a = neox ? i : 2 * i, b = neox ? i + n_rot / 2 : 2 * i + 1;
    const double x0 = head[a], x1 = head[b];
    head[a] = x0 * std::cos(angle) - x1 * std::sin(angle);
    head[b] = x0 * std::sin(angle) + x1 * std::cos(angle);
  }
}

struct ReferenceModel::Impl {
  ReferenceOptions opt;
  std::string arch;
  int64_t n_embd, n_head, n_head_kv, head_dim, n_rot, n_vocab, n_pos = 0;
  double eps, rope_base, rope_scale = 1.0;
  bool falcon, neox;
  Matrix tok_embd, output_norm, output_norm_b, output;
  std::vector<float> rope_freqs;
  std::vector<Layer> layers;

  Vec attention(Layer& L, const Vec& x);
  Vec forward(int32_t token);
};

ReferenceModel::ReferenceModel(const std::string& path, ReferenceOptions options) : impl_(new Impl) {
  Impl& m = *impl_;
  m.opt = options;
  auto f = GgufFile::open(path);
  m.arch = f->require_string("general.architecture");
  const std::string a = m.arch + ".";
  m.falcon = m.arch == "falcon";
  m.neox = m.arch != "llama";
  m.n_embd = f->require_int(a + "embedding_length");
  m.n_head = f->require_int(a + "attention.head_count");
  m.n_head_kv = f->get_int(a + "attention.head_count_kv", m.n_head);
  m.head_dim = f->get_int(a + "attention.key_length", m.n_embd / m.n_head);
  m.n_rot = f->get_int(a + "rope.dimension_count", m.head_dim);
  m.eps = f->get_double(a + (m.falcon ? "attention.layer_norm_epsilon" : "attention.layer_norm_rms_epsilon"), 1e-5);
  m.rope_base = f->get_double(a + "rope.freq_base", 10000.0);
  if (f->get_string(a + "rope.scaling.type", "none") == "linear") m.rope_scale = 1.0 / f->get_double(a + "rope.scaling.factor", 1.0);

  const bool qa = options.quantize_activations;
  m.tok_embd = read_matrix(*f, "token_embd.weight", false);
  m.n_vocab = m.tok_embd.rows;
  m.output_norm = read_matrix(*f, "output_norm.weight", qa);
  m.output_norm_b = read_matrix(*f, "output_norm.bias", qa);
  m.output = read_matrix(*f, f->find_tensor("output.weight") ? "output.weight" : "token_embd.weight", qa);
  if (const GgufTensorInfo* t = f->find_tensor("rope_freqs.weight"))
    m.rope_freqs.assign(static_cast<const float*>(t->data), static_cast<const float*>(t->data) + t->shape[0]);
  m.layers.resize(static_cast<size_t>(f->require_int(a + "block_count")));
  for (size_t il = 0; il < m.layers.size(); ++il) {
    Layer& L = m.layers[il];
    auto get = [&](const char* name) { return read_matrix(*f, "blk." + std::to_string(il) + "." + name, qa); };
    L.attn_norm = get("attn_norm.weight"), L.attn_norm_b = get("attn_norm.bias");
    L.attn_norm_2 = get("attn_norm_2.weight"), L.attn_norm_2_b = get("attn_norm_2.bias");
    L.wq = get("attn_q.weight"), L.wk = get("attn_k.weight"), L.wv = get("attn_v.weight");
    L.wqkv = get("attn_qkv.weight"), L.wo = get("attn_output.weight");
    L.bq = get("attn_q.bias"), L.bk = get("attn_k.bias"), L.bv = get("attn_v.bias");
    L.bqkv = get("attn_qkv.bias"), L.bo = get("attn_output.bias");
    L.q_norm = get("attn_q_norm.weight"), L.k_norm = get("attn_k_norm.weight");
    L.ffn_norm = get("ffn_norm.weight"), L.ffn_gate = get("ffn_gate.weight");
    L.ffn_up = get("ffn_up.weight"), L.ffn_down = get("ffn_down.weight");
    L.ffn_up_b = get("ffn_up.bias"), L.ffn_down_b = get("ffn_down.bias");
  }
}

ReferenceModel::~ReferenceModel() { delete impl_; }

int64_t ReferenceModel::n_vocab() const { return impl_->n_vocab; }

std::vector<double> ReferenceModel::step(int32_t token) { return impl_->forward(token); }

// Causal self-attention of one new token at position n_pos over every position so far.
Vec ReferenceModel::Impl::attention(Layer& L, const Vec& x) {
  const int64_t hd = head_dim, q_dim = n_head * hd, kv_dim = n_head_kv * hd;
  Vec q, k, v;
  if (L.wqkv.present()) {  // fused: Q rows, then K, then V
    Vec qkv = matvec(L.wqkv, x);
    add_to(qkv, L.bqkv);
    q.assign(qkv.begin(), qkv.begin() + q_dim);
    k.assign(qkv.begin() + q_dim, qkv.begin() + q_dim + kv_dim);
    v.assign(qkv.begin() + q_dim + kv_dim, qkv.end());
  } else {
    q = matvec(L.wq, x), k = matvec(L.wk, x), v = matvec(L.wv, x);
    add_to(q, L.bq), add_to(k, L.bk), add_to(v, L.bv);
  }
  const float* factors = rope_freqs.empty() ? nullptr : rope_freqs.data();
  auto norm_and_rotate = [&](Vec& heads, int64_t count, const Matrix& norm) {
    for (int64_t h = 0; h < count; ++h) {
      if (norm.present()) {
        const Vec normed = rms_norm(Vec(heads.begin() + h * hd, heads.begin() + (h + 1) * hd), norm, eps);
        std::copy(normed.begin(), normed.end(), heads.begin() + h * hd);
      }
      reference_rope(heads.data() + h * hd, n_rot, n_pos, rope_base, rope_scale, factors, neox);
    }
  };
  norm_and_rotate(q, n_head, L.q_norm);
  norm_and_rotate(k, n_head_kv, L.k_norm);
  if (opt.kv_f16)
    for (size_t i = 0; i < k.size(); ++i) k[i] = half(k[i]), v[i] = half(v[i]);
  L.keys.push_back(k);
  L.values.push_back(v);

  Vec out(static_cast<size_t>(q_dim), 0.0);
  const int64_t n = static_cast<int64_t>(L.keys.size());
  for (int64_t h = 0; h < n_head; ++h) {
    const int64_t kvh = h / (n_head / n_head_kv);
    Vec scores(static_cast<size_t>(n));
    double max = -INFINITY;
    for (int64_t p = 0; p < n; ++p) {
      double dot = 0;
      for (int64_t i = 0; i < hd; ++i) dot += q[h * hd + i] * L.keys[p][kvh * hd + i];
      scores[p] = dot / std::sqrt(static_cast<double>(hd));
      max = std::max(max, scores[p]);
    }
    double sum = 0;
    for (double& s : scores) sum += s = std::exp(s - max);
    for (int64_t p = 0; p < n; ++p)
      for (int64_t i = 0; i < hd; ++i) out[h * hd + i] += scores[p] / sum * L.values[p][kvh * hd + i];
  }
  Vec y = matvec(L.wo, out);
  add_to(y, L.bo);
  return y;
}

// The whole transformer for one token.
Vec ReferenceModel::Impl::forward(int32_t token) {
  if (token < 0 || token >= n_vocab) throw std::out_of_range("reference: token outside the vocabulary");
  Vec x(tok_embd.w.begin() + token * n_embd, tok_embd.w.begin() + (token + 1) * n_embd);
  for (Layer& L : layers) {
    if (falcon) {  // x + attn(norm_2(x)) + mlp(norm(x)); 7B has one norm for both
      const Vec xn = layer_norm(x, L.attn_norm, L.attn_norm_b, eps);
      const Vec attn = attention(L, L.attn_norm_2.present() ? layer_norm(x, L.attn_norm_2, L.attn_norm_2_b, eps) : xn);
      Vec up = matvec(L.ffn_up, xn);
      add_to(up, L.ffn_up_b);
      for (double& u : up) u = gelu(u);
      Vec mlp = matvec(L.ffn_down, up);
      add_to(mlp, L.ffn_down_b);
      for (int64_t i = 0; i < n_embd; ++i) x[i] += attn[i] + mlp[i];
    } else {  // x + attn(rms(x)), then x + down(silu(gate(rms(x))) * up(rms(x)))
      const Vec attn = attention(L, rms_norm(x, L.attn_norm, eps));
      for (int64_t i = 0; i < n_embd; ++i) x[i] += attn[i];
      const Vec xn = rms_norm(x, L.ffn_norm, eps);
      Vec gate = matvec(L.ffn_gate, xn), up = matvec(L.ffn_up, xn);
      add_to(up, L.ffn_up_b);
      for (size_t i = 0; i < gate.size(); ++i) gate[i] = silu(gate[i]) * up[i];
      const Vec down = matvec(L.ffn_down, gate);
      for (int64_t i = 0; i < n_embd; ++i) x[i] += down[i];
    }
  }
  ++n_pos;
  const Vec xn = falcon ? layer_norm(x, output_norm, output_norm_b, eps) : rms_norm(x, output_norm, eps);
  return matvec(output, xn);
}

}  // namespace citadel::test
