#include "engine/engine.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/ops.h"
#include "core/thread_pool.h"
#include "engine/prefix_cache.h"
#include "engine/stop_matcher.h"
#include "engine/token_constraint.h"
#include "model/lora_adapter.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace citadel {

using Clock = std::chrono::steady_clock;

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Cancelled: return "cancelled";
    case FinishReason::Timeout: return "timeout";
    case FinishReason::Error: return "error";
  }
  return "stop";
}

std::string non_finite_logits_error(int64_t position) {
  return "the model produced a non-finite logit (NaN or infinity) at position " + std::to_string(position) +
         "; its weights or the numerics are broken";
}

// ---- RequestStream ----

bool RequestStream::next(TokenEvent& event) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !events_.empty() || finished_; });
  return take(event);
}

std::optional<bool> RequestStream::next_for(TokenEvent& event, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return !events_.empty() || finished_; })) return std::nullopt;
  return take(event);
}

bool RequestStream::take(TokenEvent& event) {
  if (events_.empty()) {
    // The end: what the filter still holds goes out as a last text-only event.
    if (!filter_ || filter_flushed_ || result_.reason == FinishReason::Error) return false;
    filter_flushed_ = true;
    event = TokenEvent{-1, filter_("", true), 0, {}};
    return !event.text.empty();
  }
  event = std::move(events_.front());
  events_.pop_front();
  if (filter_) event.text = filter_(event.text, false);
  return true;
}

void RequestStream::set_text_filter(TextFilter filter) {
  std::lock_guard<std::mutex> lock(mu_);
  filter_ = std::move(filter);
}

void RequestStream::cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
}

bool RequestStream::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

const GenerationResult& RequestStream::result() const {
  std::lock_guard<std::mutex> lock(mu_);
  return result_;
}

void RequestStream::push(TokenEvent ev) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (recording_) recorded_.push_back(ev);
    events_.push_back(std::move(ev));
  }
  cv_.notify_all();
}

std::shared_ptr<RequestStream> RequestStream::replay(std::vector<TokenEvent> events, GenerationResult result) {
  auto s = std::make_shared<RequestStream>();
  for (auto& ev : events) s->events_.push_back(std::move(ev));
  s->result_ = std::move(result);
  s->finished_ = true;
  return s;
}

std::vector<TokenEvent> RequestStream::recorded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recorded_;
}

void RequestStream::finish(GenerationResult r) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    result_ = std::move(r);
    finished_ = true;
  }
  cv_.notify_all();
}

// ---- Engine ----

namespace {

struct Sequence {
  std::shared_ptr<RequestStream> stream;
  GenerationRequest req;
  int32_t kv_seq = -1;
  std::vector<int32_t> tokens;  // prompt, then generated tokens
  int64_t n_prompt = 0;
  int64_t n_past = 0;           // tokens whose K/V is in the cache
  int64_t limit = 0;            // positions reserved (prompt + max_tokens, capped by the context)
  Sampler sampler;
  StopMatcher stops;
  Utf8StreamDecoder utf8;
  int32_t generated = 0;
  Clock::time_point submitted, started;
  bool got_first = false;
  GenerationResult result;

  Sequence(std::shared_ptr<RequestStream> s, GenerationRequest r)
      : stream(std::move(s)), req(std::move(r)), sampler(req.sampling), stops(req.stop) {}
  bool prefilling() const { return n_past < n_prompt; }
  // Cached K/V blocks are shared only between sequences with the same adapters.
  uint64_t cache_salt() const { return req.lora ? req.lora->cache_key() : 0; }
};

struct Waiting {
  std::shared_ptr<RequestStream> stream;
  GenerationRequest req;
  Clock::time_point submitted;
};

// log-softmax of one logits row, for OpenAI logprobs.
void log_softmax(const float* logits, int64_t n, std::vector<float>& out) {
  out.resize(n);
  float max = *std::max_element(logits, logits + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i] - max));
  const float log_sum = static_cast<float>(std::log(sum)) + max;
  for (int64_t i = 0; i < n; ++i) out[i] = logits[i] - log_sum;
}

}  // namespace

struct Engine::Impl {
  const Model& model;
  const Tokenizer& tokenizer;
  EngineOptions opt;
  int64_t n_ctx;
  ThreadPool pool;
  KvCache kv;
  PrefixCache prefix;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Waiting> waiting;
  bool stopping = false;
  bool draining = false;
  EngineStats stats;

  std::vector<std::unique_ptr<Sequence>> running;  // engine thread only
  std::thread thread;

  Impl(const Model& m, const Tokenizer& t, const EngineOptions& o)
      : model(m), tokenizer(t), opt(o),
        n_ctx(o.context > 0 ? std::min<int64_t>(o.context, m.hparams().n_ctx_train) : m.hparams().n_ctx_train),
        pool(o.threads),
        kv(m.hparams(), o.kv_blocks > 0 ? o.kv_blocks : KvCache::blocks_for(n_ctx, std::max(1, o.parallel)), o.kv_type),
        prefix(kv) {
    stats.kv_blocks_total = kv.total_blocks();
    thread = std::thread([this] { loop(); });
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
    }
    cv.notify_all();
    thread.join();
  }

  void finish(Sequence& s, FinishReason reason, const std::string& error = "", const char* error_code = "") {
    if (reason != FinishReason::Error && reason != FinishReason::Cancelled) {
      // Whatever text was held back (a partial stop string, an incomplete character) is real output.
      std::string tail = s.stops.stopped() ? "" : s.stops.push(s.utf8.flush()) + s.stops.flush();
      if (!tail.empty()) s.stream->push(TokenEvent{-1, tail, 0, {}});
    }
    // A failed step may have left its K/V unwritten or non-finite: only good blocks are kept.
    if (opt.prefix_cache && s.n_past > 0 && reason != FinishReason::Error)
      prefix.insert(s.kv_seq, s.tokens, s.n_past, s.cache_salt());
    kv.free_sequence(s.kv_seq);
    s.result.reason = reason;
    s.result.error = error;
    s.result.error_code = error_code;
    s.result.stop_sequence = s.stops.matched();
    s.result.completion_tokens = s.generated;
    s.result.total_seconds = std::chrono::duration<double>(Clock::now() - s.submitted).count();
    s.stream->finish(s.result);
  }

  // Moves waiting requests into free slots while the KV pool can hold them whole.
  void admit(std::unique_lock<std::mutex>& lock) {
    while (!waiting.empty() && static_cast<int32_t>(running.size()) < opt.parallel && !stopping) {
      Waiting& w = waiting.front();
      const int64_t n_prompt = static_cast<int64_t>(w.req.prompt.size());
      const int64_t limit = std::min<int64_t>(n_ctx, n_prompt + std::max(w.req.max_tokens, 0));
      const int64_t need = (limit + KvCache::kBlockSize - 1) / KvCache::kBlockSize;
      if (kv.free_blocks() < need) prefix.evict_until_free(need);
      if (kv.free_blocks() < need && !running.empty()) break;  // wait for a running request to finish
      auto s = std::make_unique<Sequence>(std::move(w.stream), std::move(w.req));
      s->submitted = w.submitted;
      waiting.pop_front();
      lock.unlock();
      s->started = Clock::now();
      s->result.queue_seconds = std::chrono::duration<double>(s->started - s->submitted).count();
      s->tokens = s->req.prompt;
      s->n_prompt = n_prompt;
      s->limit = limit;
      s->result.prompt_tokens = static_cast<int32_t>(n_prompt);
      s->kv_seq = kv.add_sequence();
      for (int32_t t : s->tokens)
        if (t >= 0) s->sampler.accept(t);  // image placeholders are no tokens to penalize
      try {
        if (opt.prefix_cache) {
          // Leave at least the last prompt token to compute: its logits start generation.
          s->n_past = prefix.attach(s->kv_seq, s->tokens, n_prompt - 1, s->cache_salt());
          s->result.cached_prompt_tokens = static_cast<int32_t>(s->n_past);
        }
        kv.reserve(s->kv_seq, limit);
        std::lock_guard<std::mutex> g(mu);
        stats.prefix_cache_query_tokens += n_prompt;
        stats.prefix_cache_hit_tokens += s->n_past;
        stats.prompt_tokens += n_prompt;
      } catch (const KvCacheFull& e) {
        finish(*s, FinishReason::Error, std::string("request does not fit the KV cache: ") + e.what());
        lock.lock();
        continue;
      }
      running.push_back(std::move(s));
      lock.lock();
    }
  }

  // Samples the next token of `s` from its logits row and streams it; true when `s` is done.
  bool step_sequence(Sequence& s, float* logits, std::vector<float>& scratch) {
    const int64_t n_vocab = model.hparams().n_vocab;
    if (s.req.constraint) s.req.constraint->mask(tokenizer, logits, n_vocab);
    TokenEvent ev;
    if (s.req.top_logprobs >= 0) log_softmax(logits, n_vocab, scratch);
    const int32_t token = s.sampler.sample(logits, n_vocab);
    if (!s.got_first) {
      s.got_first = true;
      s.result.first_token_seconds = std::chrono::duration<double>(Clock::now() - s.submitted).count();
    }
    if (s.req.stop_at_eos && tokenizer.is_end_of_generation(token)) {
      finish(s, FinishReason::Stop);
      return true;
    }
    s.sampler.accept(token);
    if (s.req.constraint) s.req.constraint->accept(tokenizer, token);
    s.tokens.push_back(token);
    ++s.generated;
    ev.token = token;
    ev.text = s.stops.push(s.utf8.push(tokenizer.token_to_piece(token)));
    if (s.req.top_logprobs >= 0) {
      ev.logprob = scratch[token];
      std::vector<int32_t> order(n_vocab);
      for (int64_t i = 0; i < n_vocab; ++i) order[i] = static_cast<int32_t>(i);
      const int64_t k = std::min<int64_t>(s.req.top_logprobs, n_vocab);
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [&](int32_t a, int32_t b) { return scratch[a] > scratch[b]; });
      for (int64_t i = 0; i < k; ++i) ev.top.push_back({order[i], tokenizer.token_to_piece(order[i]), scratch[order[i]]});
    }
    s.stream->push(std::move(ev));
    if (s.stops.stopped() || (s.req.constraint && s.req.constraint->complete())) {
      finish(s, FinishReason::Stop);
      return true;
    }
    if (s.generated >= s.req.max_tokens || static_cast<int64_t>(s.tokens.size()) >= s.limit) {
      finish(s, FinishReason::Length);
      return true;
    }
    return false;
  }

  void loop() {
    Batch batch;
    std::vector<float> logits, scratch;
    std::vector<Sequence*> out_rows;  // the sequence of each logits row
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stopping || !waiting.empty() || !running.empty(); });
        if (stopping) {
          for (auto& w : waiting) {
            GenerationResult r;
            r.reason = FinishReason::Cancelled;
            w.stream->finish(r);
          }
          waiting.clear();
          lock.unlock();
          for (auto& s : running) finish(*s, FinishReason::Cancelled);
          running.clear();
          return;
        }
        admit(lock);
      }

      // Cancelled and timed-out requests leave before the step.
      const auto now = Clock::now();
      for (auto it = running.begin(); it != running.end();) {
        Sequence& s = **it;
        if (s.stream->cancelled()) finish(s, FinishReason::Cancelled);
        else if (now > s.req.deadline) finish(s, FinishReason::Timeout);
        else { ++it; continue; }
        it = running.erase(it);
      }
      if (running.empty()) {
        update_stats();
        continue;
      }

      // One forward pass: every decoding sequence's last token, then prompt chunks.
      batch.clear();
      out_rows.clear();
      int64_t budget = std::max(opt.batch_tokens, static_cast<int32_t>(running.size()));
      for (auto& s : running) {
        if (s->prefilling()) continue;
        batch.add(s->tokens[s->n_past], static_cast<int32_t>(s->n_past), s->kv_seq, true, s->req.lora.get());
        out_rows.push_back(s.get());
        ++s->n_past;
        --budget;
      }
      for (auto& s : running) {
        if (!s->prefilling() || budget <= 0) continue;
        const int64_t take = std::min(budget, s->n_prompt - s->n_past);
        for (int64_t i = 0; i < take; ++i) {
          const bool last = s->n_past + 1 == s->n_prompt;
          batch.add(s->tokens[s->n_past], static_cast<int32_t>(s->n_past), s->kv_seq, last, s->req.lora.get(),
                    s->req.embeddings.empty() ? nullptr
                                              : embedding_row(s->req.embeddings, s->n_past, model.hparams().n_embd));
          if (last) out_rows.push_back(s.get());
          ++s->n_past;
        }
        budget -= take;
      }

      const int64_t n_vocab = model.hparams().n_vocab;
      logits.resize(static_cast<size_t>(out_rows.size() * n_vocab));
      try {
        model.forward(batch, kv, pool, logits.data());
      } catch (const std::exception& e) {
        for (auto& s : running) finish(*s, FinishReason::Error, e.what());
        running.clear();
        continue;
      }
      for (size_t r = 0; r < out_rows.size(); ++r) {
        Sequence* s = out_rows[r];
        float* row = logits.data() + r * n_vocab;
        bool done;
        if (!all_finite(row, n_vocab)) {
          // Every earlier position feeds this one through attention, so a NaN anywhere in the
          // sequence's K/V shows here: the sequence fails, the others in the batch go on.
          {  // counted before the stream ends, so a caller that sees the error sees the count
            std::lock_guard<std::mutex> lock(mu);
            ++stats.non_finite_logits;
          }
          finish(*s, FinishReason::Error, non_finite_logits_error(s->n_past - 1), "non_finite_logits");
          done = true;
        } else {
          // A prompt whose logits are good: its full blocks go into the prefix cache.
          if (s->generated == 0 && opt.prefix_cache) prefix.insert(s->kv_seq, s->tokens, s->n_prompt, s->cache_salt());
          done = step_sequence(*s, row, scratch);
        }
        if (done) {
          auto it = std::find_if(running.begin(), running.end(), [&](const auto& p) { return p.get() == s; });
          running.erase(it);
        }
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        stats.generated_tokens += static_cast<int64_t>(out_rows.size());
        ++stats.steps;
      }
      update_stats();
    }
  }

  void update_stats() {
    std::lock_guard<std::mutex> lock(mu);
    stats.running = static_cast<int32_t>(running.size());
    stats.waiting = static_cast<int32_t>(waiting.size());
    stats.kv_blocks_used = kv.total_blocks() - kv.free_blocks();
    if (draining && running.empty() && waiting.empty()) cv.notify_all();
  }
};

Engine::Engine(const Model& model, const Tokenizer& tokenizer, const EngineOptions& options)
    : impl_(std::make_unique<Impl>(model, tokenizer, options)) {}

Engine::~Engine() = default;

int64_t Engine::context() const { return impl_->n_ctx; }

std::shared_ptr<RequestStream> Engine::submit(GenerationRequest request, bool record) {
  const int64_t n_prompt = static_cast<int64_t>(request.prompt.size());
  if (n_prompt == 0) throw std::invalid_argument("the prompt is empty");
  if (n_prompt >= impl_->n_ctx)
    throw std::invalid_argument("the prompt has " + std::to_string(n_prompt) + " tokens, but the context holds " +
                                std::to_string(impl_->n_ctx) + " (prompt + at least one generated token)");
  validate_prompt(request.prompt, request.embeddings, impl_->model.hparams().n_vocab, impl_->model.hparams().n_embd);
  if (request.max_tokens < 1) throw std::invalid_argument("max_tokens must be at least 1");
  if (request.lora)
    for (const LoraRef& r : request.lora->refs)
      if (!r.adapter || static_cast<int64_t>(r.adapter->layers.size()) != impl_->model.hparams().n_layer)
        throw std::invalid_argument("the LoRA adapter does not fit the model");
  auto stream = std::make_shared<RequestStream>();
  stream->recording_ = record;  // before the engine thread can see the stream
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->draining) throw QueueFull("the server is shutting down");
    if (static_cast<int32_t>(impl_->waiting.size()) >= impl_->opt.max_queue)
      throw QueueFull("the request queue is full (" + std::to_string(impl_->opt.max_queue) + " waiting)");
    impl_->waiting.push_back({stream, std::move(request), Clock::now()});
    impl_->stats.waiting = static_cast<int32_t>(impl_->waiting.size());
  }
  impl_->cv.notify_all();
  return stream;
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

bool Engine::drain(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->draining = true;
  return impl_->cv.wait_for(lock, timeout, [&] {
    return impl_->waiting.empty() && impl_->stats.running == 0;
  });
}

}  // namespace citadel
