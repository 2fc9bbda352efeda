#include "train/trainer.h"

#include <chrono>
#include <cmath>

namespace citadel {

double HeldOut::perplexity() const { return sums.rows ? std::exp(sums.ce / static_cast<double>(sums.rows)) : 0; }

Trainer::Trainer(TrainableModel& model, const std::vector<TrainExample>& train,
                 const std::vector<TrainExample>& held_out, const TrainOptions& options, ThreadPool& pool)
    : model_(model), train_(train), held_out_(held_out), opt_(options), pool_(pool), adam_(model.params(), options.adam) {
  if (train.empty()) throw std::invalid_argument("no training examples");
  if (opt_.epochs < 1) throw std::invalid_argument("epochs must be at least 1");
  for (int e = 0; e < opt_.epochs; ++e) {
    epochs_.push_back(epoch_batches(train_, opt_.batch_tokens, opt_.seed, e));
    total_steps_ += static_cast<int64_t>(epochs_.back().size());
  }
  if (opt_.warmup_steps < 0) opt_.warmup_steps = std::max<int64_t>(1, total_steps_ / 20);
}

Trainer::~Trainer() = default;

void Trainer::resume(const std::string& checkpoint) {
  const CheckpointInfo info = restore_checkpoint(checkpoint, model_, adam_);
  if (info.total_steps != total_steps_)
    throw std::runtime_error("checkpoint '" + checkpoint + "' is of a run of " + std::to_string(info.total_steps) +
                             " steps, this one has " + std::to_string(total_steps_) +
                             " (other data, epochs, batch size or seed?)");
  start_step_ = info.step;
}

HeldOut Trainer::evaluate(const std::vector<TrainExample>& examples) {
  HeldOut h;
  h.weights = opt_.loss;
  if (examples.empty()) return h;
  for (const auto& b : epoch_batches(examples, opt_.batch_tokens, 0, 0))
    h.sums += model_.evaluate(make_batch(examples, b), opt_.loss);
  return h;
}

void Trainer::save(int64_t step) {
  if (opt_.checkpoint.empty()) return;
  CheckpointInfo info;
  info.step = step;
  info.total_steps = total_steps_;
  info.settings = opt_.settings;
  write_checkpoint(opt_.checkpoint, model_, adam_, info);
}

TrainReport Trainer::run(const std::function<void(const StepInfo&)>& on_step,
                         const std::function<void(const EpochResult&)>& on_epoch, const std::atomic<bool>* stop) {
  using Clock = std::chrono::steady_clock;
  TrainReport report;
  report.before = evaluate(held_out_);
  if (on_epoch) on_epoch(EpochResult{0, 0.0, report.before});
  int64_t step = 0;
  for (int e = 0; e < opt_.epochs; ++e) {
    double loss_sum = 0;
    int64_t loss_rows = 0;
    for (const auto& which : epochs_[e]) {
      if (step < start_step_) {  // done before the checkpoint
        ++step;
        continue;
      }
      if (stop && stop->load()) {
        save(step);
        report.interrupted = true;
        report.steps = step;
        return report;
      }
      const TrainBatch batch = make_batch(train_, which);
      const int64_t scored = batch.scored();
      if (scored == 0) {
        ++step;
        continue;
      }
      const auto step_start = Clock::now();
      model_.zero_grad();
      const LossSums s = model_.train_step(batch, opt_.loss, 1.0f / static_cast<float>(scored));
      const float lr = cosine_lr(step, total_steps_, opt_.warmup_steps, opt_.lr, opt_.min_lr_ratio);
      const double norm = adam_.step(lr, pool_);
      ++step;
      report.tokens += batch.rows();
      loss_sum += s.total(opt_.loss);
      loss_rows += s.rows;
      report.seconds += std::chrono::duration<double>(Clock::now() - step_start).count();
      if (on_step)
        on_step({step, total_steps_, e + 1, s.total(opt_.loss) / static_cast<double>(s.rows),
                 report.seconds > 0 ? static_cast<double>(report.tokens) / report.seconds : 0, lr, norm});
      if (opt_.checkpoint_every > 0 && step % opt_.checkpoint_every == 0) save(step);
    }
    if (loss_rows == 0) continue;  // a resumed run's finished epoch
    EpochResult r;
    r.epoch = e + 1;
    r.train_loss = loss_sum / static_cast<double>(loss_rows);
    r.held_out = evaluate(held_out_);
    report.epochs.push_back(r);
    if (on_epoch) on_epoch(r);
    if (opt_.checkpoint_every == 0) save(step);
  }
  report.steps = step;
  return report;
}

}  // namespace citadel
