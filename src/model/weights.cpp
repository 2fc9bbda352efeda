#include "model/weights.h"

#include "core/gguf.h"

namespace citadel {

std::string layer_tensor_name(int il, const std::string& suffix) { return "blk." + std::to_string(il) + "." + suffix; }

Tensor TensorMap::get(const std::string& name, int64_t ne0, int64_t ne1) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw FormatError("model lacks tensor '" + name + "'");
  const Tensor& t = it->second;
  const int64_t want1 = ne1 == 0 ? 1 : ne1;
  if (t.ne[0] != ne0 || t.rows() != want1)
    throw FormatError("tensor '" + name + "' has shape [" + std::to_string(t.ne[0]) + ", " + std::to_string(t.rows()) +
                      "], expected [" + std::to_string(ne0) + ", " + std::to_string(want1) + "]");
  if (!type_traits(t.type).supported)
    throw FormatError("tensor '" + name + "' has type " + type_name(t.type) + ", which Citadel cannot compute with");
  if (ne1 == 0 && t.type != TensorType::F32)
    throw FormatError("tensor '" + name + "' (a norm or bias) must be f32, not " + type_name(t.type));
  return t;
}

Tensor TensorMap::get_optional(const std::string& name, int64_t ne0, int64_t ne1) const {
  return has(name) ? get(name, ne0, ne1) : Tensor{};
}

}  // namespace citadel
