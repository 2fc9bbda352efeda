#include "train/lora_init.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <stdexcept>

#include "model/model.h"

namespace citadel {

std::vector<LoraTarget> parse_lora_targets(const std::string& list) {
  using T = LoraTarget;
  std::vector<LoraTarget> out;
  std::stringstream ss(list);
  std::string item;
  auto add = [&](std::initializer_list<T> ts) {
    for (T t : ts)
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  };
  while (std::getline(ss, item, ',')) {
    if (item == "all") add({T::Q, T::K, T::V, T::O, T::Gate, T::Up, T::Down});
    else if (item == "attn") add({T::Q, T::K, T::V, T::O});
    else if (item == "ffn") add({T::Gate, T::Up, T::Down});
    else if (item == "q") add({T::Q});
    else if (item == "k") add({T::K});
    else if (item == "v") add({T::V});
    else if (item == "o") add({T::O});
    else if (item == "gate") add({T::Gate});
    else if (item == "up") add({T::Up});
    else if (item == "down") add({T::Down});
    else throw std::invalid_argument("unknown LoRA target '" + item + "' (q, k, v, o, gate, up, down, attn, ffn, all)");
  }
  if (out.empty()) throw std::invalid_argument("no LoRA targets given");
  return out;
}

std::shared_ptr<LoraAdapter> init_lora_adapter(const Model& base, int64_t rank, float alpha,
                                               const std::vector<LoraTarget>& targets, uint64_t seed) {
  if (rank < 1) throw std::invalid_argument("the LoRA rank must be at least 1");
  auto a = std::make_shared<LoraAdapter>();
  a->arch = base.hparams().arch;
  a->alpha = alpha;
  a->layers.resize(static_cast<size_t>(base.hparams().n_layer));
  std::mt19937_64 rng(seed);
  for (size_t il = 0; il < a->layers.size(); ++il)
    for (LoraTarget t : targets) {
      const Tensor& w = lora_base_weight(base.weights().layers[il], t);
      if (!w.present()) throw std::invalid_argument("the model has no separate " + std::string(lora_target_name(t)));
      LoraPair& p = a->layers[il][static_cast<int>(t)];
      p.rank = rank, p.in = w.cols(), p.out = w.rows();
      const float bound = 1.0f / std::sqrt(static_cast<float>(p.in));
      std::uniform_real_distribution<float> dist(-bound, bound);
      p.a.resize(static_cast<size_t>(rank * p.in));
      for (float& v : p.a) v = dist(rng);
      p.b.assign(static_cast<size_t>(p.out * rank), 0.0f);
    }
  a->check_fits(base);
  return a;
}

}  // namespace citadel
