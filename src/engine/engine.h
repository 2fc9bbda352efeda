// The serving engine: many sequences over one model with continuous batching. Requests join and
// leave the running batch at any step; each step runs the decode token of every active sequence
// plus a bounded chunk of pending prompt tokens through the weights in one forward pass, so a
// long prompt never stalls the others. KV memory is a paged pool; full prompt blocks are kept in
// a prefix cache and reused by later requests that start with the same tokens.
//
//   Engine engine(model, tokenizer, options);
//   auto stream = engine.submit(request);         // throws QueueFull when the queue is full
//   TokenEvent ev; while (stream->next(ev)) ...;   // blocks; false once finished
//   GenerationResult r = stream->result();
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "engine/request.h"
#include "model/kv_cache.h"

namespace citadel {

class Model;
class Tokenizer;

class QueueFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EngineOptions {
  int32_t parallel = 16;           // sequences decoded together at most
  int64_t context = 0;             // max positions per sequence (0: the model's training context)
  int64_t kv_blocks = 0;           // KV pool size in blocks (0: parallel x context)
  int32_t max_queue = 64;          // waiting requests beyond which submit() throws QueueFull
  int32_t batch_tokens = 256;      // max tokens per forward pass (decode tokens + prompt chunks)
  int32_t threads = 0;             // compute threads (0: all cores)
  bool prefix_cache = true;
  KvType kv_type = KvType::F32;    // f16: half the KV memory and attention traffic
};

struct EngineStats {
  int32_t running = 0;
  int32_t waiting = 0;
  int64_t kv_blocks_used = 0;
  int64_t kv_blocks_total = 0;
  int64_t prefix_cache_hit_tokens = 0;   // prompt tokens served from cached blocks
  int64_t prefix_cache_query_tokens = 0; // prompt tokens looked up
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  int64_t steps = 0;
  int64_t non_finite_logits = 0;  // sequences failed because the model gave a NaN or infinite logit
};

// A request's stream, shared between the engine thread (producer) and the caller.
class RequestStream {
 public:
  // Waits for the next event; false when the request has finished (see result()).
  bool next(TokenEvent& event);
  // Like next() but gives up after `timeout`; returns nullopt on timeout.
  std::optional<bool> next_for(TokenEvent& event, std::chrono::milliseconds timeout);
  void cancel();  // frees the slot and its KV blocks at the next step
  bool cancelled() const;
  const GenerationResult& result() const;  // valid once next() returned false

  // A finished stream that replays `events` and ends with `result` (an answer from the response
  // cache, served exactly as a generated one is).
  static std::shared_ptr<RequestStream> replay(std::vector<TokenEvent> events, GenerationResult result);
  // Every event of a stream submitted with `record` (to store the answer in the response cache),
  // once the stream has finished.
  std::vector<TokenEvent> recorded() const;
  // Rewrites each event's text as the caller takes it (e.g. PII placeholders back to the values):
  // filter(text, false) per event, then filter("", true) once at the end, whose text comes as one
  // more event (token -1). Recorded events keep the engine's text.
  using TextFilter = std::function<std::string(const std::string& text, bool end)>;
  void set_text_filter(TextFilter filter);

 private:
  friend class Engine;
  void push(TokenEvent ev);
  void finish(GenerationResult r);
  bool take(TokenEvent& event);  // with mu_ held

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<TokenEvent> events_;
  bool finished_ = false;
  bool cancelled_ = false;
  bool recording_ = false;
  std::vector<TokenEvent> recorded_;
  TextFilter filter_;
  bool filter_flushed_ = false;
  GenerationResult result_;
};

class Engine {
 public:
  Engine(const Model& model, const Tokenizer& tokenizer, const EngineOptions& options);
  ~Engine();  // stops the loop; unfinished requests end as Cancelled
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates (prompt fits the context, ids in range) and queues the request.
  // Throws std::invalid_argument (bad request) or QueueFull.
  // With `record`, the stream keeps a copy of every event for recorded() — from its first: set
  // after submit() returned, the engine had at times pushed the first tokens already, and the
  // response cache stored an answer without its beginning.
  std::shared_ptr<RequestStream> submit(GenerationRequest request, bool record = false);
  EngineStats stats() const;
  int64_t context() const;
  // Stops admitting new work; waits up to `timeout` for running and queued requests to finish.
  bool drain(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace citadel
