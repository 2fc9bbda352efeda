#include "train/dataset.h"

#include <algorithm>
#include <fstream>
#include <numeric>
#include <random>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace citadel {
namespace {

using json = nlohmann::ordered_json;

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

// A chat: the whole conversation's tokens, each assistant turn's tokens learnt. Assistant turn i
// spans the tokens that the conversation up to and including it adds beyond the conversation up
// to it with the generation prompt (what the model sees when it is asked to answer).
TrainExample chat_example(const json& messages, const Tokenizer& tok, const ChatTemplate& chat) {
  auto encode = [&](const std::string& text) { return tok.encode(text, true, true); };
  TrainExample ex;
  ex.tokens = encode(chat.render(messages, false));
  ex.learnt.assign(ex.tokens.size(), 0);
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].value("role", "") != "assistant") continue;
    const json before(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(i));
    const json through(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    const size_t start = common_prefix(encode(chat.render(before, true)), ex.tokens);
    const size_t end = common_prefix(encode(chat.render(through, false)), ex.tokens);
    for (size_t t = start; t < end; ++t) ex.learnt[t] = 1;
  }
  return ex;
}

// Windows of at most `context` tokens overlapping by one (the last token of a window is the
// first of the next, so the next window predicts what follows it).
void add_windows(TrainExample ex, int64_t context, std::vector<TrainExample>& out) {
  const int64_t n = static_cast<int64_t>(ex.tokens.size());
  if (n <= context) {
    out.push_back(std::move(ex));
    return;
  }
  for (int64_t start = 0; start + 1 < n; start += context - 1) {
    const int64_t end = std::min(n, start + context);
    TrainExample w;
    w.line = ex.line;
    w.tokens.assign(ex.tokens.begin() + start, ex.tokens.begin() + end);
    w.learnt.assign(ex.learnt.begin() + start, ex.learnt.begin() + end);
    w.learnt[0] = 0;  // predicted by the previous window
    if (w.targets() > 0) out.push_back(std::move(w));
  }
}

}  // namespace

int64_t TrainExample::targets() const {
  int64_t n = 0;
  for (size_t i = 1; i < learnt.size(); ++i) n += learnt[i];
  return n;
}

std::vector<TrainExample> load_examples(const std::string& path, const Tokenizer& tok, const ChatTemplate& chat,
                                        int64_t context) {
  if (context < 2) throw std::invalid_argument("the training context must be at least 2 tokens");
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open training data '" + path + "'");
  std::vector<TrainExample> out;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(number);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      throw std::runtime_error(where + ": not JSON (" + e.what() + ")");
    }
    TrainExample ex;
    if (j.is_object() && j.contains("text") && j["text"].is_string()) {
      ex.tokens = tok.encode(j["text"].get<std::string>(), tok.adds_bos());
      if (tok.eos_id() >= 0) ex.tokens.push_back(tok.eos_id());
      ex.learnt.assign(ex.tokens.size(), 1);
    } else if (j.is_object() && j.contains("prompt") && j["prompt"].is_string() && j.contains("completion") &&
               j["completion"].is_string()) {
      // The completion's tokens are those the whole text has beyond the prompt's own.
      const std::string prompt = j["prompt"].get<std::string>();
      ex.tokens = tok.encode(prompt + j["completion"].get<std::string>(), tok.adds_bos());
      if (tok.eos_id() >= 0) ex.tokens.push_back(tok.eos_id());
      ex.learnt.assign(ex.tokens.size(), 0);
      for (size_t t = common_prefix(tok.encode(prompt, tok.adds_bos()), ex.tokens); t < ex.tokens.size(); ++t)
        ex.learnt[t] = 1;
    } else if (j.is_object() && j.contains("messages") && j["messages"].is_array()) {
      for (const auto& m : j["messages"])
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
            !m["content"].is_string())
          throw std::runtime_error(where + ": every message needs a string \"role\" and \"content\"");
      try {
        ex = chat_example(j["messages"], tok, chat);
      } catch (const std::exception& e) {
        throw std::runtime_error(where + ": the chat template failed: " + e.what());
      }
    } else {
      throw std::runtime_error(where + ": expected {\"text\": ...}, {\"prompt\": ..., \"completion\": ...} or "
                                       "{\"messages\": [...]}");
    }
    ex.line = number;
    if (ex.targets() == 0) continue;  // nothing to learn (e.g. no assistant turn)
    add_windows(std::move(ex), context, out);
  }
  if (out.empty()) throw std::runtime_error("'" + path + "' holds no training examples");
  return out;
}

void split_held_out(std::vector<TrainExample>& examples, double fraction, uint64_t seed,
                    std::vector<TrainExample>& held_out) {
  if (fraction <= 0) return;
  std::vector<size_t> lines;
  for (const auto& e : examples) lines.push_back(e.line);
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  if (lines.size() < 2) return;
  std::mt19937_64 rng(seed);
  std::shuffle(lines.begin(), lines.end(), rng);
  const size_t n = std::clamp<size_t>(static_cast<size_t>(fraction * lines.size() + 0.5), 1, lines.size() - 1);
  const std::set<size_t> chosen(lines.begin(), lines.begin() + static_cast<std::ptrdiff_t>(n));
  std::vector<TrainExample> keep;
  for (auto& e : examples) (chosen.count(e.line) ? held_out : keep).push_back(std::move(e));
  examples.swap(keep);
}

std::vector<std::vector<size_t>> epoch_batches(const std::vector<TrainExample>& examples, int64_t batch_tokens,
                                               uint64_t seed, int epoch) {
  std::vector<size_t> order(examples.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(seed * 1000003 + static_cast<uint64_t>(epoch));
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::vector<size_t>> batches;
  int64_t used = 0;
  for (size_t i : order) {
    const int64_t n = static_cast<int64_t>(examples[i].tokens.size());
    if (batches.empty() || used + n > batch_tokens) {
      batches.emplace_back();
      used = 0;
    }
    batches.back().push_back(i);
    used += n;
  }
  return batches;
}

TrainBatch make_batch(const std::vector<TrainExample>& examples, const std::vector<size_t>& which) {
  TrainBatch b;
  for (size_t i : which) b.top_k = std::max(b.top_k, examples[i].top_k);
  std::vector<int32_t> no_ids;
  std::vector<float> no_probs;
  for (size_t i : which) {
    const TrainExample& e = examples[i];
    if (e.top_k != 0 && e.top_k != b.top_k) throw std::invalid_argument("examples of one batch differ in their teacher's top-k");
    std::vector<int32_t> targets(e.tokens.size(), -1);
    for (size_t t = 0; t + 1 < e.tokens.size(); ++t)
      if (e.learnt[t + 1]) targets[t] = e.tokens[t + 1];
    if (e.top_k == 0 && b.top_k > 0) {  // no teacher for this one: zero probabilities
      no_ids.assign(e.tokens.size() * b.top_k, 0);
      no_probs.assign(e.tokens.size() * b.top_k, 0.0f);
      b.add(e.tokens, targets, no_ids.data(), no_probs.data());
    } else {
      b.add(e.tokens, targets, e.teacher_ids.data(), e.teacher_probs.data());
    }
  }
  return b;
}

}  // namespace citadel
