// Training sequences packed one after another into one batch of rows: each row is a token with
// the id it should predict (-1: not scored, e.g. a prompt token of a chat example) and, when
// distilling, the teacher's top-k next-token distribution at that row.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace citadel {

struct TrainBatch {
  std::vector<int32_t> tokens;
  std::vector<int64_t> starts;   // first row of each sequence
  std::vector<int32_t> targets;  // per row
  int top_k = 0;                 // teacher entries per row (0: no teacher)
  std::vector<int32_t> teacher_ids;   // rows x top_k, most likely first
  std::vector<float> teacher_probs;   // rows x top_k, summing to 1 on scored rows

  int64_t rows() const { return static_cast<int64_t>(tokens.size()); }
  int64_t scored() const {
    int64_t n = 0;
    for (int32_t t : targets) n += t >= 0;
    return n;
  }
  // Appends a sequence; `ids` / `probs` (len x top_k) only when top_k > 0.
  void add(const std::vector<int32_t>& seq_tokens, const std::vector<int32_t>& seq_targets,
           const int32_t* ids = nullptr, const float* probs = nullptr) {
    if (seq_tokens.size() != seq_targets.size() || seq_tokens.empty())
      throw std::invalid_argument("a training sequence needs one target per token");
    starts.push_back(rows());
    tokens.insert(tokens.end(), seq_tokens.begin(), seq_tokens.end());
    targets.insert(targets.end(), seq_targets.begin(), seq_targets.end());
    if (top_k > 0) {
      const size_t n = seq_tokens.size() * static_cast<size_t>(top_k);
      teacher_ids.insert(teacher_ids.end(), ids, ids + n);
      teacher_probs.insert(teacher_probs.end(), probs, probs + n);
    }
  }
  // Position of each row within its sequence.
  std::vector<int32_t> positions() const {
    std::vector<int32_t> p(tokens.size());
    for (size_t s = 0; s < starts.size(); ++s) {
      const int64_t end = s + 1 < starts.size() ? starts[s + 1] : rows();
      for (int64_t t = starts[s]; t < end; ++t) p[t] = static_cast<int32_t>(t - starts[s]);
    }
    return p;
  }
};

}  // namespace citadel
