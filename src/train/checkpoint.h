// Training checkpoints: every trained parameter with its AdamW moments and the step reached, in
// one GGUF file (written to a temporary name and renamed, so an interrupted write never replaces
// a good checkpoint). `--resume` restores them and continues with the same data order.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "train/optimizer.h"
#include "train/trainable_model.h"

namespace citadel {

struct CheckpointInfo {
  int64_t step = 0;         // optimizer steps done
  int64_t total_steps = 0;  // of the whole run
  std::map<std::string, std::string> settings;  // what the run was started with (mode, rank, alpha, ...)
};

void write_checkpoint(const std::string& path, TrainableModel& model, AdamW& opt, const CheckpointInfo& info);
// Reads only the step and settings (to rebuild the model's shape before restoring it).
CheckpointInfo read_checkpoint_info(const std::string& path);
// Restores parameters and moments; throws std::runtime_error when a parameter is missing or of
// another size (a checkpoint of another model or adapter shape).
CheckpointInfo restore_checkpoint(const std::string& path, TrainableModel& model, AdamW& opt);

}  // namespace citadel
