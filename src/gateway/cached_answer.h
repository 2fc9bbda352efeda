// The response cache's view of a generation: the key of everything that decides its answer, and
// the answer (the engine's events and result) as bytes to store and replay.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/json_schema.h"
#include "engine/request.h"

namespace citadel {

// What besides the engine request decides the answer and who may share it.
struct CacheScope {
  std::string model;         // the served model id (and adapter, when one is chosen)
  std::string permissions;   // the caller key's model allow-list ("*": every model): keys of
                             // different reach never share entries
  std::string constraint;    // a fingerprint of the output constraint (e.g. the JSON schema), "" if none
};

// The key (SHA-256 hex), or nullopt when the answer is not reproducible: sampled (temperature > 0)
// without a seed the client chose (r.seed_given), unless `cache_sampled` allows it.
std::optional<std::string> cache_key(const GenerationRequest& r, const CacheScope& scope, bool cache_sampled);

// A compiled output schema as text (for CacheScope::constraint): equal schemas, equal texts.
std::string schema_fingerprint(const JsonSchema& schema);

std::string encode_answer(const std::vector<TokenEvent>& events, const GenerationResult& result);
// nullopt for bytes that are not an encoded answer (a corrupt or foreign Redis value).
std::optional<std::pair<std::vector<TokenEvent>, GenerationResult>> decode_answer(const std::string& bytes);

}  // namespace citadel
