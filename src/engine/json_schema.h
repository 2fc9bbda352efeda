// The part of JSON Schema that structured output uses, compiled into a small graph of nodes that
// constrained decoding walks (engine/json_constraint.h). Enforced: type (one or a list), object
// properties / required / additionalProperties, array items / minItems / maxItems, enum, const,
// anyOf / oneOf whose alternatives start differently (an object and a string, say), local $ref
// ("#/$defs/..", "#/definitions/..", recursion included). Value facets (pattern, format, minimum,
// maxLength, ...) are accepted and not enforced. Keywords that change the structure in ways not
// supported (prefixItems, patternProperties, not, if) are refused with a clear error.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace citadel {

class JsonSchema {
 public:
  // Kinds of JSON value, as bits of Node::kinds.
  enum Kind : uint8_t { kObject = 1, kArray = 2, kString = 4, kNumber = 8, kInteger = 16, kBoolean = 32, kNull = 64 };
  static constexpr uint8_t kAnyKind = 127;
  static constexpr int kAny = -1;  // node index of "any JSON value"

  struct Node {
    uint8_t kinds = kAnyKind;
    // Objects: named properties (their value nodes), which are required, and whether other
    // keys may appear (their values: extra_node).
    std::vector<std::string> keys;
    std::vector<int> key_nodes;
    std::vector<bool> required;
    bool extra_keys = true;
    int extra_node = kAny;
    // Arrays.
    int items = kAny;
    int64_t min_items = 0, max_items = -1;  // -1: no limit
    // enum / const: the value must be one of these JSON texts (compact serialization).
    std::vector<std::string> literals;
    // anyOf / oneOf: alternatives with disjoint first characters.
    std::vector<int> alternatives;
  };

  // Throws std::invalid_argument naming the unsupported or malformed part.
  static std::shared_ptr<const JsonSchema> compile(const nlohmann::json& schema);
  // {"type": "object"}: any object (response_format json_object).
  static std::shared_ptr<const JsonSchema> any_object();

  int root() const { return root_; }
  const Node& node(int i) const { return nodes_[static_cast<size_t>(i)]; }
  size_t size() const { return nodes_.size(); }

 private:
  std::vector<Node> nodes_;
  int root_ = kAny;
  friend class SchemaCompiler;
};

}  // namespace citadel
