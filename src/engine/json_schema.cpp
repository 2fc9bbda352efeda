#include "engine/json_schema.h"

#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace citadel {

using json = nlohmann::json;

class SchemaCompiler {
 public:
  explicit SchemaCompiler(const json& root) : root_(root) {}

  std::shared_ptr<const JsonSchema> run() {
    auto out = std::make_shared<JsonSchema>();
    schema_ = out.get();
    out->root_ = compile(root_, "schema", 0);
    return out;
  }

 private:
  [[noreturn]] static void fail(const std::string& where, const std::string& what) {
    throw std::invalid_argument(where + ": " + what);
  }

  static uint8_t kind_of(const std::string& type, const std::string& where) {
    if (type == "object") return JsonSchema::kObject;
    if (type == "array") return JsonSchema::kArray;
    if (type == "string") return JsonSchema::kString;
    if (type == "number") return JsonSchema::kNumber | JsonSchema::kInteger;
    if (type == "integer") return JsonSchema::kInteger;
    if (type == "boolean") return JsonSchema::kBoolean;
    if (type == "null") return JsonSchema::kNull;
    fail(where + ".type", "unknown type '" + type + "'");
  }

  // The kinds a node's values can start as (literals by their text's first character).
  uint8_t start_kinds(int index, int depth = 0) const {
    if (index == JsonSchema::kAny || depth > 64) return JsonSchema::kAnyKind;
    const JsonSchema::Node& n = schema_->nodes_[static_cast<size_t>(index)];
    if (!n.alternatives.empty()) {
      uint8_t k = 0;
      for (int a : n.alternatives) k |= start_kinds(a, depth + 1);
      return k;
    }
    if (n.literals.empty()) return n.kinds;
    uint8_t k = 0;
    for (const std::string& lit : n.literals) k |= literal_kind(lit);
    return k;
  }

  static uint8_t literal_kind(const std::string& text) {
    switch (text[0]) {
      case '{': return JsonSchema::kObject;
      case '[': return JsonSchema::kArray;
      case '"': return JsonSchema::kString;
      case 't': case 'f': return JsonSchema::kBoolean;
      case 'n': return JsonSchema::kNull;
      default: return JsonSchema::kNumber | JsonSchema::kInteger;
    }
  }

  int resolve_ref(const std::string& ref, const std::string& where, int depth) {
    if (auto it = refs_.find(ref); it != refs_.end()) return it->second;
    if (ref != "#" && ref.rfind("#/", 0) != 0)
      fail(where + ".$ref", "only local references (#, #/...) are supported, not '" + ref + "'");
    json::json_pointer ptr;
    try {
      ptr = json::json_pointer(ref.substr(1));
    } catch (const std::exception&) {
      fail(where + ".$ref", "'" + ref + "' is not a valid JSON pointer");
    }
    if (!root_.contains(ptr)) fail(where + ".$ref", "'" + ref + "' points at nothing");
    // Reserve the node first, so a recursive reference finds it.
    const int index = new_node();
    refs_[ref] = index;
    const int target = compile(root_.at(ptr), ref, depth + 1);
    if (target == index) fail(where + ".$ref", "'" + ref + "' refers to itself");
    if (target == JsonSchema::kAny) schema_->nodes_[static_cast<size_t>(index)] = JsonSchema::Node{};
    else schema_->nodes_[static_cast<size_t>(index)].alternatives = {target};
    return index;
  }

  int new_node() {
    schema_->nodes_.emplace_back();
    return static_cast<int>(schema_->nodes_.size() - 1);
  }

  int compile(const json& s, const std::string& where, int depth) {
    if (depth > 64) fail(where, "nested too deeply");
    if (s.is_boolean()) {
      if (!s.get<bool>()) fail(where, "'false' (no value allowed) cannot be generated");
      return JsonSchema::kAny;
    }
    if (!s.is_object()) fail(where, "must be an object");
    for (const char* unsupported : {"prefixItems", "patternProperties", "not", "if", "dependentSchemas",
                                    "unevaluatedProperties", "unevaluatedItems", "contains"})
      if (s.contains(unsupported)) fail(where, std::string("'") + unsupported + "' is not supported");
    if (auto it = s.find("$ref"); it != s.end()) {
      if (!it->is_string()) fail(where + ".$ref", "must be a string");
      return resolve_ref(it->get<std::string>(), where, depth);
    }
    if (auto it = s.find("allOf"); it != s.end()) {
      if (!it->is_array() || it->size() != 1) fail(where + ".allOf", "only a one-schema allOf is supported");
      return compile((*it)[0], where + ".allOf[0]", depth + 1);
    }

    JsonSchema::Node n;
    bool constrained = false;
    if (auto it = s.find("type"); it != s.end()) {
      n.kinds = 0;
      if (it->is_string()) {
        n.kinds = kind_of(it->get<std::string>(), where);
      } else if (it->is_array() && !it->empty()) {
        for (const auto& t : *it) {
          if (!t.is_string()) fail(where + ".type", "must hold strings");
          n.kinds |= kind_of(t.get<std::string>(), where);
        }
      } else {
        fail(where + ".type", "must be a string or a non-empty array of strings");
      }
      constrained = true;
    }
    if (auto it = s.find("enum"); it != s.end()) {
      if (!it->is_array() || it->empty()) fail(where + ".enum", "must be a non-empty array");
      for (const auto& v : *it) n.literals.push_back(v.dump());
      constrained = true;
    }
    if (auto it = s.find("const"); it != s.end()) {
      n.literals = {it->dump()};
      constrained = true;
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      auto it = s.find(key);
      if (it == s.end()) continue;
      if (!it->is_array() || it->empty()) fail(where + "." + key, "must be a non-empty array");
      if (!n.alternatives.empty()) fail(where, "anyOf together with oneOf is not supported");
      uint8_t seen = 0;
      for (size_t i = 0; i < it->size(); ++i) {
        const std::string at = where + "." + key + "[" + std::to_string(i) + "]";
        const int alt = compile((*it)[i], at, depth + 1);
        const uint8_t k = start_kinds(alt);
        if (k & seen) fail(at, "alternatives that can start alike (e.g. two objects) are not supported");
        seen |= k;
        n.alternatives.push_back(alt);
      }
      constrained = true;
    }

    if (auto it = s.find("properties"); it != s.end()) {
      if (!it->is_object()) fail(where + ".properties", "must be an object");
      for (const auto& [key, sub] : it->items()) {
        n.keys.push_back(key);
        n.key_nodes.push_back(compile(sub, where + ".properties." + key, depth + 1));
        n.required.push_back(false);
      }
      if (n.keys.size() > 64) fail(where + ".properties", "more than 64 properties are not supported");
      if (!s.contains("type")) n.kinds = JsonSchema::kObject;
      constrained = true;
    }
    if (auto it = s.find("required"); it != s.end()) {
      if (!it->is_array()) fail(where + ".required", "must be an array");
      for (const auto& r : *it) {
        if (!r.is_string()) fail(where + ".required", "must hold strings");
        bool found = false;
        for (size_t i = 0; i < n.keys.size(); ++i)
          if (n.keys[i] == r.get<std::string>()) n.required[i] = found = true;
        if (!found) fail(where + ".required", "'" + r.get<std::string>() + "' is not among the properties");
      }
    }
    // Without additionalProperties, an object with listed properties keeps to them (as OpenAI's
    // strict structured outputs); one without properties takes any keys.
    n.extra_keys = n.keys.empty();
    if (auto it = s.find("additionalProperties"); it != s.end()) {
      if (it->is_boolean()) n.extra_keys = it->get<bool>();
      else if (it->is_object()) n.extra_keys = true, n.extra_node = compile(*it, where + ".additionalProperties", depth + 1);
      else fail(where + ".additionalProperties", "must be a boolean or a schema");
    }
    if (auto it = s.find("items"); it != s.end()) {
      if (it->is_array()) fail(where + ".items", "tuple items (an array) are not supported");
      n.items = compile(*it, where + ".items", depth + 1);
      if (!s.contains("type")) n.kinds = JsonSchema::kArray;
      constrained = true;
    }
    for (const char* key : {"minItems", "maxItems"}) {
      auto it = s.find(key);
      if (it == s.end()) continue;
      if (!it->is_number_integer() || it->get<int64_t>() < 0) fail(where + "." + key, "must be a non-negative integer");
      (std::string(key) == "minItems" ? n.min_items : n.max_items) = it->get<int64_t>();
    }
    if (n.max_items >= 0 && n.min_items > n.max_items) fail(where, "minItems is larger than maxItems");
    if (n.kinds == 0) fail(where, "no type left");
    if (!constrained && n.extra_keys) return JsonSchema::kAny;
    const int index = new_node();
    schema_->nodes_[static_cast<size_t>(index)] = std::move(n);
    return index;
  }

  const json& root_;
  JsonSchema* schema_ = nullptr;
  std::map<std::string, int> refs_;
};

std::shared_ptr<const JsonSchema> JsonSchema::compile(const json& schema) { return SchemaCompiler(schema).run(); }

std::shared_ptr<const JsonSchema> JsonSchema::any_object() {
  static const auto schema = compile(json{{"type", "object"}});
  return schema;
}

}  // namespace citadel
