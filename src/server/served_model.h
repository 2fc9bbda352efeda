// A model the server offers: its weights, tokenizer, chat template and serving engine.
#pragma once
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/adapter_registry.h"
#include "engine/engine.h"
#include "model/clip.h"
#include "model/model.h"
#include "server/server_config.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace citadel {

struct UpstreamModel;

struct ServedModel {
  std::string id;
  std::string path;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<ChatTemplate> chat_template;  // the model's own, else a ChatML fallback
  bool template_is_fallback = false;
  std::shared_ptr<const std::vector<std::string>> pieces;  // token bytes, for JSON mode
  std::unique_ptr<Engine> engine;
  std::unique_ptr<AdapterRegistry> adapters;  // LoRA adapters served as "<id>:<name>"
  std::shared_ptr<UpstreamModel> upstream;    // set: served by other engines (no model, no engine here)
  double load_seconds = 0;
  int64_t created = 0;  // unix time of loading

  // Embeddings run outside the engine, one at a time, on their own thread pool.
  std::mutex embed_mu;
  std::unique_ptr<ThreadPool> embed_pool;

  // The vision projector (mmproj) when the model takes images; images are encoded one at a time.
  std::unique_ptr<ClipModel> clip;
  std::mutex vision_mu;
  std::unique_ptr<ThreadPool> vision_pool;

  // Loads weights, tokenizer and template and starts the engine. Throws on a bad file.
  static std::unique_ptr<ServedModel> load(const ModelConfig& mc, const ServerConfig& sc);
  // Mean-pooled, L2-normalised final hidden state of `ids`.
  std::vector<float> embed(const std::vector<int32_t>& ids, const LoraStack* lora = nullptr);
};

}  // namespace citadel
