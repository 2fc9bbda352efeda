// The training loop shared by `citadel finetune` and `citadel distill`: epochs over shuffled,
// packed batches (one AdamW step per batch, loss averaged over its learnt tokens), the learning
// rate on a warm-up + cosine schedule, the held-out loss before training and after each epoch,
// periodic checkpoints, and a stop flag (Ctrl-C) honoured between steps.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/optimizer.h"
#include "train/trainable_model.h"

namespace citadel {

struct TrainOptions {
  int epochs = 3;
  float lr = 2e-3f;            // peak learning rate
  float min_lr_ratio = 0.1f;   // the cosine ends at lr * min_lr_ratio
  int64_t warmup_steps = -1;   // -1: 5% of the steps (at least 1)
  AdamWConfig adam;
  int64_t batch_tokens = 512;  // tokens per step
  uint64_t seed = 42;
  LossWeights loss;
  std::string checkpoint;         // path; empty: no checkpoints
  int64_t checkpoint_every = 0;   // steps between checkpoints (0: at the end of each epoch)
  std::map<std::string, std::string> settings;  // recorded in checkpoints
};

struct StepInfo {
  int64_t step = 0, total_steps = 0;
  int epoch = 0;
  double loss = 0;            // mean over the step's learnt tokens
  double tokens_per_second = 0;  // training tokens (all rows) per second of training so far
  float lr = 0;
  double grad_norm = 0;
};

struct HeldOut {
  LossSums sums;
  LossWeights weights;
  double loss() const { return sums.rows ? sums.total(weights) / static_cast<double>(sums.rows) : 0; }
  double perplexity() const;     // exp(mean cross-entropy)
  double agreement() const { return sums.teacher_rows ? static_cast<double>(sums.agree) / sums.teacher_rows : 0; }
  double kl() const { return sums.teacher_rows ? sums.kl / static_cast<double>(sums.teacher_rows) : 0; }
};

struct EpochResult {
  int epoch = 0;        // 1-based (0: the held-out loss before training)
  double train_loss = 0;
  HeldOut held_out;
};

struct TrainReport {
  HeldOut before;
  std::vector<EpochResult> epochs;
  int64_t steps = 0, tokens = 0;
  double seconds = 0;  // in training steps (held-out evaluations not counted)
  bool interrupted = false;
};

class Trainer {
 public:
  Trainer(TrainableModel& model, const std::vector<TrainExample>& train, const std::vector<TrainExample>& held_out,
          const TrainOptions& options, ThreadPool& pool);
  ~Trainer();
  int64_t total_steps() const { return total_steps_; }
  // Continues from a checkpoint (parameters, moments, step).
  void resume(const std::string& checkpoint);
  HeldOut evaluate(const std::vector<TrainExample>& examples);
  TrainReport run(const std::function<void(const StepInfo&)>& on_step,
                  const std::function<void(const EpochResult&)>& on_epoch, const std::atomic<bool>* stop = nullptr);

 private:
  void save(int64_t step);
  TrainableModel& model_;
  const std::vector<TrainExample>& train_;
  const std::vector<TrainExample>& held_out_;
  TrainOptions opt_;
  ThreadPool& pool_;
  AdamW adam_;
  std::vector<std::vector<std::vector<size_t>>> epochs_;  // the batches of each epoch
  int64_t total_steps_ = 0, start_step_ = 0;
};

}  // namespace citadel
