#include "gateway/cached_answer.h"

#include <nlohmann/json.hpp>

#include "gateway/digest.h"

namespace citadel {

using json = nlohmann::json;

std::optional<std::string> cache_key(const GenerationRequest& r, const CacheScope& scope, bool cache_sampled) {
  const bool seed_given = r.seed_given;
  const SamplingParams& s = r.sampling;
  const bool greedy = s.greedy();
  if (!greedy && !seed_given && !cache_sampled) return std::nullopt;
  json k = {{"v", 1},
            {"model", scope.model},
            {"permissions", scope.permissions},
            {"constraint", scope.constraint},
            {"prompt", r.prompt},
            {"max_tokens", r.max_tokens},
            {"stop", r.stop},
            {"stop_at_eos", r.stop_at_eos},
            {"top_logprobs", r.top_logprobs}};
  if (!greedy) {  // greedy answers do not depend on the sampling knobs
    k["sampling"] = {s.temperature, s.top_k, s.top_p, s.min_p, s.repeat_penalty, s.repeat_last_n, s.frequency_penalty,
                     s.presence_penalty, seed_given ? s.seed : 0};
  } else if (s.repeat_penalty != 1.0f || s.frequency_penalty != 0 || s.presence_penalty != 0) {
    k["penalties"] = {s.repeat_penalty, s.repeat_last_n, s.frequency_penalty, s.presence_penalty};
  }
  return sha256_hex(k.dump());
}

std::string schema_fingerprint(const JsonSchema& schema) {
  json nodes = json::array();
  for (size_t i = 0; i < schema.size(); ++i) {
    const JsonSchema::Node& n = schema.node(static_cast<int>(i));
    nodes.push_back({n.kinds, n.keys, n.key_nodes, n.required, n.extra_keys, n.extra_node, n.items, n.min_items,
                     n.max_items, n.literals, n.alternatives});
  }
  return json{{"root", schema.root()}, {"nodes", nodes}}.dump();
}

std::string encode_answer(const std::vector<TokenEvent>& events, const GenerationResult& result) {
  json ev = json::array();
  for (const auto& e : events) {
    json top = json::array();
    for (const auto& t : e.top) top.push_back({t.id, t.piece, t.logprob});
    ev.push_back({e.token, e.text, e.logprob, top});
  }
  return json{{"v", 1},
              {"events", ev},
              {"reason", static_cast<int>(result.reason)},
              {"prompt_tokens", result.prompt_tokens},
              {"completion_tokens", result.completion_tokens}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::pair<std::vector<TokenEvent>, GenerationResult>> decode_answer(const std::string& bytes) {
  const json j = json::parse(bytes, nullptr, false);
  try {
    if (j.is_discarded() || j.value("v", 0) != 1) return std::nullopt;
    std::vector<TokenEvent> events;
    for (const auto& e : j.at("events")) {
      TokenEvent ev;
      ev.token = e.at(0).get<int32_t>();
      ev.text = e.at(1).get<std::string>();
      ev.logprob = e.at(2).get<float>();
      for (const auto& t : e.at(3)) ev.top.push_back({t.at(0).get<int32_t>(), t.at(1).get<std::string>(), t.at(2).get<float>()});
      events.push_back(std::move(ev));
    }
    GenerationResult r;
    const int reason = j.at("reason").get<int>();
    if (reason != static_cast<int>(FinishReason::Stop) && reason != static_cast<int>(FinishReason::Length))
      return std::nullopt;
    r.reason = static_cast<FinishReason>(reason);
    r.prompt_tokens = j.at("prompt_tokens").get<int32_t>();
    r.completion_tokens = j.at("completion_tokens").get<int32_t>();
    r.cached_prompt_tokens = r.prompt_tokens;  // nothing was computed
    return std::make_pair(std::move(events), r);
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace citadel
