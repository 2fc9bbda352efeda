#include "train/checkpoint.h"

#include <cstring>
#include <stdexcept>

#include "core/gguf.h"
#include "core/gguf_writer.h"

namespace citadel {
namespace {

constexpr const char* kPrefix = "citadel.checkpoint.";

}  // namespace

void write_checkpoint(const std::string& path, TrainableModel& model, AdamW& opt, const CheckpointInfo& info) {
  GgufWriter w;
  w.set_string("general.type", "citadel-training-checkpoint");
  w.set_u64(std::string(kPrefix) + "step", static_cast<uint64_t>(info.step));
  w.set_u64(std::string(kPrefix) + "total_steps", static_cast<uint64_t>(info.total_steps));
  for (const auto& [k, v] : info.settings) w.set_string(std::string(kPrefix) + "setting." + k, v);
  auto& params = model.params();
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    const size_t bytes = static_cast<size_t>(p.size) * sizeof(float);
    w.add_tensor(p.name, {p.size}, TensorType::F32, p.value, bytes);
    w.add_tensor(p.name + ".adam_m", {p.size}, TensorType::F32, opt.first_moments()[i].data(), bytes);
    w.add_tensor(p.name + ".adam_v", {p.size}, TensorType::F32, opt.second_moments()[i].data(), bytes);
  }
  w.write(path);
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  auto f = GgufFile::open(path);
  if (f->get_string("general.type", "") != "citadel-training-checkpoint")
    throw std::runtime_error("'" + path + "' is not a Citadel training checkpoint");
  CheckpointInfo info;
  info.step = f->require_int(std::string(kPrefix) + "step");
  info.total_steps = f->require_int(std::string(kPrefix) + "total_steps");
  const std::string setting = std::string(kPrefix) + "setting.";
  for (const auto& [k, v] : f->metadata())
    if (k.rfind(setting, 0) == 0 && v.is_string()) info.settings[k.substr(setting.size())] = v.as_string();
  return info;
}

CheckpointInfo restore_checkpoint(const std::string& path, TrainableModel& model, AdamW& opt) {
  CheckpointInfo info = read_checkpoint_info(path);
  auto f = GgufFile::open(path);
  auto& params = model.params();
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    auto load = [&](const std::string& name, float* dst) {
      const GgufTensorInfo* t = f->find_tensor(name);
      if (!t) throw std::runtime_error("checkpoint '" + path + "' lacks '" + name + "' (another model or adapter?)");
      if (t->type != TensorType::F32 || t->n_elements() != p.size)
        throw std::runtime_error("checkpoint '" + path + "': '" + name + "' has " + std::to_string(t->n_elements()) +
                                 " values, the model " + std::to_string(p.size) + " (another model or adapter?)");
      std::memcpy(dst, t->data, static_cast<size_t>(p.size) * sizeof(float));
    };
    load(p.name, p.value);
    load(p.name + ".adam_m", opt.first_moments()[i].data());
    load(p.name + ".adam_v", opt.second_moments()[i].data());
  }
  opt.set_steps(info.step);
  return info;
}

}  // namespace citadel
