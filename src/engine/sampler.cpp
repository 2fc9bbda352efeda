#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace citadel {

int32_t argmax(const float* values, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (values[i] > values[best]) best = i;
  return static_cast<int32_t>(best);
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

void Sampler::accept(int32_t token) {
  history_.push_back(token);
  while (params_.repeat_last_n >= 0 && static_cast<int32_t>(history_.size()) > params_.repeat_last_n)
    history_.pop_front();
}

void Sampler::apply_penalties(float* logits, int64_t n_vocab) const {
  if (params_.repeat_penalty == 1.0f && params_.frequency_penalty == 0 && params_.presence_penalty == 0) return;
  std::unordered_map<int32_t, int> counts;
  for (int32_t t : history_)
    if (t >= 0 && t < n_vocab) ++counts[t];
  for (const auto& [tok, count] : counts) {
    float& l = logits[tok];
    if (params_.repeat_penalty != 1.0f) l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
    l -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
  }
}

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0); }

int32_t Sampler::sample(float* logits, int64_t n_vocab) {
  apply_penalties(logits, n_vocab);
  if (params_.greedy()) return argmax(logits, n_vocab);

  // Candidates sorted by logit, cut by top-k.
  candidates_.resize(n_vocab);
  for (int64_t i = 0; i < n_vocab; ++i) candidates_[i] = {static_cast<int32_t>(i), logits[i]};
  int64_t k = params_.top_k > 0 ? std::min<int64_t>(params_.top_k, n_vocab) : n_vocab;
  auto by_logit = [](const TokenProb& a, const TokenProb& b) { return a.prob > b.prob || (a.prob == b.prob && a.id < b.id); };
  std::partial_sort(candidates_.begin(), candidates_.begin() + k, candidates_.end(), by_logit);
  candidates_.resize(k);

  // Softmax at temperature 1 for the top-p / min-p cuts (as llama.cpp), then temperature.
  auto softmax_candidates = [&](float temp) {
    const float max = candidates_.front().prob;
    double sum = 0;
    std::vector<double> e(candidates_.size());
    for (size_t i = 0; i < candidates_.size(); ++i) sum += e[i] = std::exp((candidates_[i].prob - max) / temp);
    std::vector<float> p(candidates_.size());
    for (size_t i = 0; i < candidates_.size(); ++i) p[i] = static_cast<float>(e[i] / sum);
    return p;
  };
  std::vector<float> probs = softmax_candidates(1.0f);
  size_t keep = candidates_.size();
  if (params_.top_p < 1.0f) {
    double cum = 0;
    for (size_t i = 0; i < candidates_.size(); ++i) {
      cum += probs[i];
      if (cum >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0) {
    const float floor = probs[0] * params_.min_p;
    size_t i = 1;
    while (i < keep && probs[i] >= floor) ++i;
    keep = i;
  }
  candidates_.resize(std::max<size_t>(1, keep));
  probs = softmax_candidates(params_.temperature);

  double r = uniform(), cum = 0;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    cum += probs[i];
    if (r < cum) return candidates_[i].id;
  }
  return candidates_.back().id;
}

}  // namespace citadel
