#include "tools/train_support.h"

#include <atomic>
#include <csignal>
#include <cstdio>

#include "tools/progress_bar.h"

namespace citadel {
namespace {

std::atomic<bool> g_stop{false};

}  // namespace

void add_train_flags(CLI::App& app, TrainFlags& f) {
  TrainOptions& o = f.options;
  app.add_option("--epochs", o.epochs, "passes over the training data")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--lr", o.lr, "peak learning rate (AdamW)")->capture_default_str()->check(CLI::Range(0.0, 10.0));
  app.add_option("--min-lr-ratio", o.min_lr_ratio, "the cosine schedule ends at lr times this")->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--warmup", o.warmup_steps, "warm-up steps (default: 5% of the steps)");
  app.add_option("--weight-decay", o.adam.weight_decay, "AdamW weight decay")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  app.add_option("--clip", o.adam.clip_norm, "clip the gradient's global L2 norm to this (0: off)")->capture_default_str()
      ->check(CLI::Range(0.0, 1e9));
  app.add_option("--batch-tokens", o.batch_tokens, "tokens per optimizer step")->capture_default_str()
      ->check(CLI::Range(int64_t(2), int64_t(1) << 24));
  app.add_option("-c,--context", f.context, "longest training sequence in tokens (longer examples are cut)")
      ->capture_default_str()->check(CLI::Range(int64_t(2), int64_t(1) << 20));
  app.add_option("--val-split", f.val_split, "fraction of the data's lines held out to measure the loss")
      ->capture_default_str()->check(CLI::Range(0.0, 0.9));
  app.add_option("--val", f.val_path, "held-out data file (instead of --val-split)");
  app.add_option("--seed", o.seed, "shuffling and initialisation seed")->capture_default_str();
  app.add_option("-t,--threads", f.threads, "threads (default: all cores)")->check(CLI::Range(0, 1024));
  app.add_option("--checkpoint", o.checkpoint, "checkpoint file (default: OUT.ckpt)");
  app.add_flag("--no-checkpoint", f.no_checkpoint, "write no checkpoints");
  app.add_option("--checkpoint-every", o.checkpoint_every, "steps between checkpoints (0: every epoch)")
      ->capture_default_str()->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  app.add_option("--resume", f.resume, "continue from this checkpoint (same data and settings)");
  app.add_flag("--json", f.json, "print a JSON summary on stdout");
}

TrainData load_train_data(const std::vector<std::string>& data, const TrainFlags& f, const Tokenizer& tok,
                          const ChatTemplate& chat) {
  TrainData d;
  size_t lines = 0;
  for (const std::string& path : data) {
    std::vector<TrainExample> part = load_examples(path, tok, chat, f.context);
    for (TrainExample& e : part) e.line += lines;  // lines of all the files, numbered through
    for (const TrainExample& e : part) lines = std::max(lines, e.line);
    d.train.insert(d.train.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  if (!f.val_path.empty()) d.held_out = load_examples(f.val_path, tok, chat, f.context);
  else split_held_out(d.train, f.val_split, f.options.seed, d.held_out);
  return d;
}

nlohmann::json held_out_json(const HeldOut& h) {
  nlohmann::json j = {{"tokens", h.sums.rows}, {"loss", h.loss()}, {"perplexity", h.perplexity()},
                      {"next_token_accuracy", h.sums.rows ? double(h.sums.correct) / double(h.sums.rows) : 0.0}};
  if (h.sums.teacher_rows > 0) j["kl"] = h.kl(), j["teacher_agreement"] = h.agreement(), j["teacher_tokens"] = h.sums.teacher_rows;
  return j;
}

TrainReport run_training(Trainer& trainer, const TrainFlags& f, nlohmann::json& summary) {
  if (!f.resume.empty()) {
    trainer.resume(f.resume);
    std::fprintf(stderr, "resuming from '%s'\n", f.resume.c_str());
  }
  g_stop = false;
  auto previous = std::signal(SIGINT, [](int) { g_stop = true; });
  ProgressBar bar("training");
  auto describe = [](const HeldOut& h) {
    char buf[160];
    if (h.sums.teacher_rows > 0)
      std::snprintf(buf, sizeof buf, "loss %.4f, KL %.4f, agreement %.1f%%, ppl %.3f", h.loss(), h.kl(),
                    100 * h.agreement(), h.perplexity());
    else
      std::snprintf(buf, sizeof buf, "loss %.4f, ppl %.3f", h.loss(), h.perplexity());
    return std::string(buf);
  };
  TrainReport r = trainer.run(
      [&](const StepInfo& s) {
        char note[160];
        std::snprintf(note, sizeof note, "epoch %d  loss %.4f  %.0f tok/s  lr %.2e", s.epoch, s.loss,
                      s.tokens_per_second, s.lr);
        bar.update(static_cast<size_t>(s.step), static_cast<size_t>(s.total_steps), note);
      },
      [&](const EpochResult& e) {
        bar.finish();
        if (e.epoch == 0 && e.held_out.sums.rows)
          std::fprintf(stderr, "before training: held-out %s\n", describe(e.held_out).c_str());
        else if (e.epoch > 0)
          std::fprintf(stderr, "epoch %d: train loss %.4f; held-out %s\n", e.epoch, e.train_loss,
                       e.held_out.sums.rows ? describe(e.held_out).c_str() : "(none)");
      },
      &g_stop);
  bar.finish();
  std::signal(SIGINT, previous);
  summary["steps"] = r.steps;
  summary["train_tokens"] = r.tokens;
  summary["train_seconds"] = r.seconds;
  summary["train_tokens_per_second"] = r.seconds > 0 ? double(r.tokens) / r.seconds : 0.0;
  summary["held_out_before"] = held_out_json(r.before);
  nlohmann::json epochs = nlohmann::json::array();
  for (const EpochResult& e : r.epochs)
    epochs.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"held_out", held_out_json(e.held_out)}});
  summary["epochs"] = epochs;
  summary["interrupted"] = r.interrupted;
  return r;
}

}  // namespace citadel
