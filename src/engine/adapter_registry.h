// The LoRA adapters a served model offers by name, loaded and unloaded while it serves. Requests
// hold their adapter (a shared stack), so an adapter unloaded mid-request finishes that request;
// a name loaded again gets the new file. Thread-safe.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/lora_adapter.h"

namespace citadel {

class Model;

struct AdapterEntry {
  std::string name;
  std::string path;
  float scale = 1.0f;
  std::shared_ptr<const LoraStack> stack;
  int64_t parameters = 0;
  int64_t loaded_at = 0;  // unix seconds
};

class AdapterRegistry {
 public:
  explicit AdapterRegistry(const Model& base) : base_(base) {}

  // A name clients may use: 1..64 of letters, digits, '.', '_' and '-'.
  static bool valid_name(const std::string& name);
  // Loads "FILE[:SCALE]" as `name`, replacing one of that name when `replace`. Throws
  // std::invalid_argument (bad name; the name taken and !replace) or FormatError /
  // std::runtime_error (the file: unreadable, not an adapter, or not fitting the base model).
  AdapterEntry load(const std::string& name, const std::string& file_arg, bool replace = false);
  bool unload(const std::string& name);  // false when there is no such adapter
  std::shared_ptr<const AdapterEntry> find(const std::string& name) const;  // null when absent
  std::vector<AdapterEntry> list() const;  // by name

 private:
  const Model& base_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const AdapterEntry>> entries_;
};

}  // namespace citadel
