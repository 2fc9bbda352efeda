#include "server/served_model.h"

#include <chrono>
#include <cmath>
#include <ctime>

#include "core/gguf.h"
#include "engine/json_constraint.h"
#include "server/upstream_forward.h"

namespace citadel {

std::unique_ptr<ServedModel> ServedModel::load(const ModelConfig& mc, const ServerConfig& sc) {
  const auto start = std::chrono::steady_clock::now();
  auto sm = std::make_unique<ServedModel>();
  sm->id = mc.id;
  sm->path = mc.path;
  if (mc.remote()) {  // forwarded to other engines (server/upstream_forward.h)
    sm->upstream = make_upstream_model(mc);
    sm->created = static_cast<int64_t>(std::time(nullptr));
    return sm;
  }
  sm->model = Model::load(mc.path);
  sm->tokenizer = Tokenizer::from_gguf(sm->model->gguf());
  sm->chat_template = std::make_unique<ChatTemplate>(model_chat_template(sm->model->gguf(), &sm->template_is_fallback));
  sm->pieces = token_pieces(*sm->tokenizer);
  EngineOptions eo;
  eo.parallel = mc.parallel > 0 ? mc.parallel : sc.parallel;
  eo.context = mc.context > 0 ? mc.context : sc.context;
  eo.threads = sc.threads;
  eo.max_queue = sc.max_queue;
  eo.batch_tokens = sc.batch_tokens;
  eo.kv_type = parse_kv_type(sc.kv_cache_type);
  sm->engine = std::make_unique<Engine>(*sm->model, *sm->tokenizer, eo);
  sm->adapters = std::make_unique<AdapterRegistry>(*sm->model);
  for (const auto& [name, file] : mc.lora) {
    try {
      sm->adapters->load(name, file);
    } catch (const std::exception& e) {
      throw std::runtime_error("model '" + mc.id + "': adapter '" + name + "': " + e.what());
    }
  }
  sm->embed_pool = std::make_unique<ThreadPool>(1);
  if (!mc.mmproj.empty()) {
    try {
      sm->clip = ClipModel::load(mc.mmproj);
    } catch (const std::exception& e) {
      throw std::runtime_error("model '" + mc.id + "': mmproj: " + e.what());
    }
    if (sm->clip->n_embd_out() != sm->model->hparams().n_embd)
      throw std::runtime_error("model '" + mc.id + "': " + mc.mmproj + " projects images to " +
                               std::to_string(sm->clip->n_embd_out()) + " values per row, but the model's embeddings are " +
                               std::to_string(sm->model->hparams().n_embd));
    sm->vision_pool = std::make_unique<ThreadPool>(sc.threads);
  }
  sm->load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sm->created = static_cast<int64_t>(std::time(nullptr));
  return sm;
}

std::vector<float> ServedModel::embed(const std::vector<int32_t>& ids, const LoraStack* lora) {
  const HParams& hp = model->hparams();
  const int64_t n = static_cast<int64_t>(ids.size());
  KvCache kv(hp, KvCache::blocks_for(n, 1));
  const int32_t seq = kv.add_sequence();
  kv.reserve(seq, n);
  Batch batch;
  for (int64_t i = 0; i < n; ++i) batch.add(ids[i], static_cast<int32_t>(i), seq, false, lora);
  std::vector<float> hidden(static_cast<size_t>(n * hp.n_embd));
  {
    std::lock_guard<std::mutex> lock(embed_mu);
    model->forward(batch, kv, *embed_pool, nullptr, hidden.data());
  }
  std::vector<float> mean(hp.n_embd, 0.0f);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < hp.n_embd; ++i) mean[i] += hidden[t * hp.n_embd + i] / static_cast<float>(n);
  double norm = 0;
  for (float v : mean) norm += static_cast<double>(v) * v;
  norm = std::sqrt(norm);
  if (norm > 0)
    for (float& v : mean) v = static_cast<float>(v / norm);
  return mean;
}

}  // namespace citadel
