#include "engine/adapter_registry.h"

#include <cctype>
#include <ctime>
#include <stdexcept>

namespace citadel {

bool AdapterRegistry::valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

AdapterEntry AdapterRegistry::load(const std::string& name, const std::string& file_arg, bool replace) {
  if (!valid_name(name))
    throw std::invalid_argument("adapter name '" + name + "' must be 1 to 64 letters, digits, '.', '_' or '-'");
  if (!replace && find(name)) throw std::invalid_argument("an adapter named '" + name + "' is already loaded");
  // Read outside the lock: a large file must not hold up requests.
  auto e = std::make_shared<AdapterEntry>();
  e->name = name;
  auto [path, scale] = parse_lora_arg(file_arg);
  e->path = path;
  e->scale = scale;
  auto stack = std::make_shared<LoraStack>();
  stack->refs.push_back({LoraAdapter::load(path, base_), scale});
  stack->seal();
  e->parameters = stack->refs[0].adapter->parameter_count();
  e->stack = std::move(stack);
  e->loaded_at = static_cast<int64_t>(std::time(nullptr));
  std::lock_guard<std::mutex> lock(mu_);
  if (!replace && entries_.count(name)) throw std::invalid_argument("an adapter named '" + name + "' is already loaded");
  entries_[name] = e;
  return *e;
}

bool AdapterRegistry::unload(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.erase(name) > 0;
}

std::shared_ptr<const AdapterEntry> AdapterRegistry::find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second;
}

std::vector<AdapterEntry> AdapterRegistry::list() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<AdapterEntry> out;
  for (const auto& [name, e] : entries_) out.push_back(*e);
  return out;
}

}  // namespace citadel
