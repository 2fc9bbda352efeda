#include "core/tensor_type.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

namespace citadel {
namespace {

constexpr size_t kMaxTypeId = 40;

constexpr std::array<TypeTraits, kMaxTypeId> make_table() {
  std::array<TypeTraits, kMaxTypeId> t{};
  t[0] = {"f32", 1, 4, true};
  t[1] = {"f16", 1, 2, true};
  t[2] = {"q4_0", 32, 18, true};
  t[3] = {"q4_1", 32, 20, true};
  t[6] = {"q5_0", 32, 22, true};
  t[7] = {"q5_1", 32, 24, true};
  t[8] = {"q8_0", 32, 34, true};
  t[9] = {"q8_1", 32, 36, false};
  t[10] = {"q2_k", 256, 84, false};
  t[11] = {"q3_k", 256, 110, false};
  t[12] = {"q4_k", 256, 144, true};
  t[13] = {"q5_k", 256, 176, true};
  t[14] = {"q6_k", 256, 210, true};
  t[15] = {"q8_k", 256, 292, false};
  t[24] = {"i8", 1, 1, false};
  t[25] = {"i16", 1, 2, false};
  t[26] = {"i32", 1, 4, false};
  t[27] = {"i64", 1, 8, false};
  t[28] = {"f64", 1, 8, false};
  t[30] = {"bf16", 1, 2, true};
  return t;
}
constexpr auto kTable = make_table();

}  // namespace

const TypeTraits* find_type_traits(uint32_t type_id) {
  if (type_id >= kMaxTypeId || kTable[type_id].name == nullptr) return nullptr;
  return &kTable[type_id];
}

const TypeTraits& type_traits(TensorType type) {
  const TypeTraits* t = find_type_traits(static_cast<uint32_t>(type));
  if (!t) throw std::invalid_argument("unknown tensor type id " + std::to_string(static_cast<uint32_t>(type)));
  return *t;
}

std::string type_name(TensorType type) {
  const TypeTraits* t = find_type_traits(static_cast<uint32_t>(type));
  return t ? t->name : "type" + std::to_string(static_cast<uint32_t>(type));
}

TensorType parse_type_name(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (uint32_t id = 0; id < kMaxTypeId; ++id)
    if (kTable[id].name && lower == kTable[id].name) return static_cast<TensorType>(id);
  throw std::invalid_argument("unknown tensor type '" + name + "'");
}

size_t row_bytes(TensorType type, int64_t n) {
  const TypeTraits& t = type_traits(type);
  if (n < 0 || n % t.block_size != 0)
    throw std::invalid_argument(std::string("row of ") + std::to_string(n) + " values is not a multiple of the " +
                                t.name + " block size " + std::to_string(t.block_size));
  return static_cast<size_t>(n / t.block_size) * t.block_bytes;
}

}  // namespace citadel
