// What `citadel finetune` and `citadel distill` share: their training flags, and running a
// Trainer on a terminal (progress bar with loss and tokens/s, held-out loss per epoch, Ctrl-C
// saves a checkpoint and stops).
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "train/trainer.h"

namespace citadel {

struct TrainFlags {
  TrainOptions options;
  int64_t context = 256;
  double val_split = 0.1;
  std::string val_path;   // held-out file instead of a split
  std::string resume;     // checkpoint to continue from
  int threads = 0;
  bool json = false;
  bool no_checkpoint = false;
};

// Adds --epochs, --lr, --min-lr-ratio, --warmup, --weight-decay, --clip, --batch-tokens,
// --context, --val-split, --val, --seed, --threads, --checkpoint, --checkpoint-every, --resume,
// --json.
void add_train_flags(CLI::App& app, TrainFlags& f);

// Loads the training and held-out examples of the `data` files (split, or --val).
struct TrainData {
  std::vector<TrainExample> train, held_out;
};
TrainData load_train_data(const std::vector<std::string>& data, const TrainFlags& f, const Tokenizer& tok,
                          const ChatTemplate& chat);

// Runs the trainer (resuming when asked) with progress on stderr; Ctrl-C stops after the current
// step with a checkpoint. Returns the report; `summary` gets its JSON form.
TrainReport run_training(Trainer& trainer, const TrainFlags& f, nlohmann::json& summary);

nlohmann::json held_out_json(const HeldOut& h);

}  // namespace citadel
