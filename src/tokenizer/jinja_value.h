// Runtime values of the Jinja interpreter, with the reference's (@huggingface/jinja) semantics:
// its values wrap JavaScript values, so printing, equality (JS ==), truthiness and tojson
// follow JavaScript where Python's Jinja would differ (e.g. 1.0 from JSON input is the integer 1,
// {{ none }} prints nothing, a float prints as "2.0" but joins as "2").
// Arrays, objects and namespaces are shared by reference (identity decides ==, as in JS);
// only namespaces are mutable.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace citadel::jinja {

class Value;
struct Scope;

// Deepest nesting of arrays / objects a template may build (deeper would risk the stack).
constexpr uint32_t kMaxNesting = 512;

enum class Kind { Undefined, Null, Bool, Int, Float, String, Array, Tuple, Object, KwArgs, Namespace, Function };
const char* kind_name(Kind k);  // "string", "integer", ... for error messages

// Called with positional arguments (keyword arguments, if any, as a trailing KwArgs value) and
// the scope of the call site (macros see their caller's variables, as in the reference).
using NativeFunction = std::function<Value(std::vector<Value>& args, const std::shared_ptr<Scope>& caller)>;

// Defined after Value: a pair<string, Value> needs Value complete (GCC lets it pass, clang not).
struct ArrayData;
struct ObjectData;

class Value {
 public:
  Value() = default;  // undefined
  static Value null();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value number(double d);  // a float
  static Value string(std::string s);
  static Value array(std::vector<Value> items, Kind kind = Kind::Array);  // Array or Tuple
  static Value object(std::shared_ptr<ObjectData> data, Kind kind = Kind::Object);  // Object, KwArgs, Namespace
  static Value function(NativeFunction fn);

  Kind kind() const { return kind_; }
  bool is(Kind k) const { return kind_ == k; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_null() const { return kind_ == Kind::Null; }
  bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float; }
  bool is_array() const { return kind_ == Kind::Array || kind_ == Kind::Tuple; }  // JS ArrayValue
  bool is_object() const { return kind_ == Kind::Object || kind_ == Kind::KwArgs; }  // JS ObjectValue
  bool is_attribute_container() const { return is_object() || kind_ == Kind::Namespace; }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  double as_double() const;  // Int, Float or Bool as a number
  const std::string& as_string() const { return *std::get<std::shared_ptr<const std::string>>(v_); }
  const std::vector<Value>& items() const;
  const ObjectData& object() const { return *std::get<std::shared_ptr<ObjectData>>(v_); }
  ObjectData& mutable_object() const { return *std::get<std::shared_ptr<ObjectData>>(v_); }
  const NativeFunction& function() const { return *std::get<std::shared_ptr<const NativeFunction>>(v_); }
  uint32_t depth() const;  // nesting of containers, 0 for scalars

  bool truthy() const;             // JS-side __bool__
  std::string to_output() const;   // RuntimeValue.toString(): what {{ }} prints
  std::string raw_string() const;  // String(value.value): what ~, + and join use

 private:
  friend bool same_identity(const Value& a, const Value& b);
  Kind kind_ = Kind::Undefined;
  std::variant<std::monostate, bool, int64_t, double, std::shared_ptr<const std::string>,
               std::shared_ptr<const ArrayData>, std::shared_ptr<ObjectData>, std::shared_ptr<const NativeFunction>>
      v_;
};

struct ArrayData {
  std::vector<Value> items;
  uint32_t depth = 1;
};

// Insertion-ordered string-keyed map.
struct ObjectData {
  std::vector<std::pair<std::string, Value>> entries;
  std::unordered_map<std::string, size_t> index;
  uint32_t depth = 1;

  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value v);
  size_t size() const { return entries.size(); }
};

inline const std::vector<Value>& Value::items() const { return std::get<std::shared_ptr<const ArrayData>>(v_)->items; }

bool loose_equals(const Value& a, const Value& b);   // JS a.value == b.value
bool strict_equals(const Value& a, const Value& b);  // JS a.value === b.value

struct JsonOptions {
  int indent = 0;  // 0: one line with ", " and ": "
  bool ensure_ascii = false;
  bool sort_keys = false;
  std::optional<std::pair<std::string, std::string>> separators;  // item, key
  bool undefined_as_null = true;  // false when printing a container ("undefined")
};
// The reference's toJSON; throws RenderError for functions, tuples and over-deep (cyclic) values.
std::string to_json(const Value& v, const JsonOptions& opt = {});

// JSON input as the reference sees it after JSON.parse: integral numbers are integers, and
// integer-like keys come first in ascending order (JS property order). Throws RenderError when
// nested deeper than kMaxNesting.
Value from_json(const nlohmann::ordered_json& j);

}  // namespace citadel::jinja
