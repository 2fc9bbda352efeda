#include "tokenizer/jinja_value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja_error.h"
#include "tokenizer/jinja_text.h"

namespace citadel::jinja {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Undefined: return "undefined";
    case Kind::Null: return "none";
    case Kind::Bool: return "boolean";
    case Kind::Int: return "integer";
    case Kind::Float: return "float";
    case Kind::String: return "string";
    case Kind::Array: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Object: return "mapping";
    case Kind::KwArgs: return "keyword arguments";
    case Kind::Namespace: return "namespace";
    case Kind::Function: return "function";
  }
  return "?";
}

const Value* ObjectData::find(const std::string& key) const {
  auto it = index.find(key);
  return it == index.end() ? nullptr : &entries[it->second].second;
}

void ObjectData::set(const std::string& key, Value v) {
  const uint32_t d = v.depth() + 1;
  if (d > kMaxNesting) throw RenderError("value nested deeper than " + std::to_string(kMaxNesting) + " levels");
  depth = std::max(depth, d);
  auto it = index.find(key);
  if (it != index.end()) {
    entries[it->second].second = std::move(v);
    return;
  }
  index.emplace(key, entries.size());
  entries.emplace_back(key, std::move(v));
}

Value Value::null() {
  Value v;
  v.kind_ = Kind::Null;
  return v;
}
Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::Bool;
  v.v_ = b;
  return v;
}
Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::Int;
  v.v_ = i;
  return v;
}
Value Value::number(double d) {
  Value v;
  v.kind_ = Kind::Float;
  v.v_ = d;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::String;
  v.v_ = std::make_shared<const std::string>(std::move(s));
  return v;
}
Value Value::array(std::vector<Value> items, Kind kind) {
  auto data = std::make_shared<ArrayData>();
  uint32_t d = 0;
  for (const Value& x : items) d = std::max(d, x.depth());
  if (d + 1 > kMaxNesting) throw RenderError("value nested deeper than " + std::to_string(kMaxNesting) + " levels");
  data->depth = d + 1;
  data->items = std::move(items);
  Value v;
  v.kind_ = kind;
  v.v_ = std::shared_ptr<const ArrayData>(std::move(data));
  return v;
}
Value Value::object(std::shared_ptr<ObjectData> data, Kind kind) {
  Value v;
  v.kind_ = kind;
  v.v_ = std::move(data);
  return v;
}
Value Value::function(NativeFunction fn) {
  Value v;
  v.kind_ = Kind::Function;
  v.v_ = std::make_shared<const NativeFunction>(std::move(fn));
  return v;
}

double Value::as_double() const {
  switch (kind_) {
    case Kind::Int: return static_cast<double>(as_int());
    case Kind::Float: return as_float();
    case Kind::Bool: return as_bool() ? 1 : 0;
    default: return NAN;
  }
}

uint32_t Value::depth() const {
  if (is_array()) return std::get<std::shared_ptr<const ArrayData>>(v_)->depth;
  if (is_attribute_container()) return object().depth;
  return 0;
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::Undefined:
    case Kind::Null: return false;
    case Kind::Bool: return as_bool();
    case Kind::Int: return as_int() != 0;
    case Kind::Float: return as_float() != 0 && !std::isnan(as_float());
    case Kind::String: return !as_string().empty();
    case Kind::Array:
    case Kind::Tuple: return !items().empty();
    case Kind::Object:
    case Kind::KwArgs: return object().size() > 0;
    case Kind::Namespace:  // a JS Map object: always truthy
    case Kind::Function: return true;
  }
  return false;
}

static std::string float_output(double d) {
  if (d == 0 && std::signbit(d)) return "-0.0";
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e21) {  // toFixed(1)
    char buf[400];
    std::snprintf(buf, sizeof buf, "%.1f", d);
    return buf;
  }
  return text::js_number(d);
}

std::string Value::to_output() const {
  switch (kind_) {
    case Kind::Undefined: return "undefined";
    case Kind::Null: return "null";
    case Kind::Bool: return as_bool() ? "true" : "false";
    case Kind::Int: return std::to_string(as_int());
    case Kind::Float: return float_output(as_float());
    case Kind::String: return as_string();
    case Kind::Function: return "[function]";
    default: {
      JsonOptions opt;
      opt.undefined_as_null = false;
      return to_json(*this, opt);
    }
  }
}

std::string Value::raw_string() const {
  switch (kind_) {
    case Kind::Undefined:
    case Kind::Null: return "";  // Array.prototype.join renders these as empty
    case Kind::Float: return text::js_number(as_float());
    case Kind::Array:
    case Kind::Tuple: {
      std::string out;
      bool first = true;
      for (const Value& x : items()) {
        if (!first) out += ',';
        first = false;
        out += x.to_output();
      }
      return out;
    }
    case Kind::Object:
    case Kind::KwArgs:
    case Kind::Namespace: return "[object Map]";
    default: return to_output();
  }
}

bool same_identity(const Value& a, const Value& b) { return a.v_ == b.v_; }

static bool is_container(const Value& v) {
  return v.is_array() || v.is_attribute_container() || v.is(Kind::Function);
}

bool strict_equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.as_double() == b.as_double();
  if (a.kind() != b.kind()) {
    if (is_container(a) && is_container(b)) return same_identity(a, b);
    return false;
  }
  switch (a.kind()) {
    case Kind::Undefined:
    case Kind::Null: return true;
    case Kind::Bool: return a.as_bool() == b.as_bool();
    case Kind::String: return a.as_string() == b.as_string();
    default: return same_identity(a, b);
  }
}

bool loose_equals(const Value& a, const Value& b) {
  const bool a_nullish = a.is_null() || a.is_undefined(), b_nullish = b.is_null() || b.is_undefined();
  if (a_nullish || b_nullish) return a_nullish && b_nullish;
  if (is_container(a) && is_container(b)) return same_identity(a, b);
  // An object against a primitive compares its string form (JS ToPrimitive).
  if (is_container(a)) return loose_equals(Value::string(a.raw_string()), b);
  if (is_container(b)) return loose_equals(a, Value::string(b.raw_string()));
  if (a.is(Kind::String) && b.is(Kind::String)) return a.as_string() == b.as_string();
  const double x = a.is(Kind::String) ? text::js_to_number(a.as_string()) : a.as_double();
  const double y = b.is(Kind::String) ? text::js_to_number(b.as_string()) : b.as_double();
  return x == y;
}

namespace {

struct JsonWriter {
  const JsonOptions& opt;
  std::string item_sep, key_sep;

  explicit JsonWriter(const JsonOptions& o) : opt(o) {
    if (o.separators) {
      item_sep = o.separators->first;
      key_sep = o.separators->second;
    } else {
      item_sep = o.indent ? "," : ", ";
      key_sep = ": ";
    }
  }

  void key(std::string& out, const std::string& k) const { text::append_json_string(out, k, opt.ensure_ascii); }

  void write(std::string& out, const Value& v, uint32_t depth) const {
    if (depth > kMaxNesting) throw RenderError("tojson: value nested too deep (or cyclic)");
    switch (v.kind()) {
      case Kind::Null: out += "null"; return;
      case Kind::Undefined: out += opt.undefined_as_null ? "null" : "undefined"; return;
      case Kind::Bool: out += v.as_bool() ? "true" : "false"; return;
      case Kind::Int: out += std::to_string(v.as_int()); return;
      case Kind::Float: out += std::isfinite(v.as_float()) ? text::js_number(v.as_float()) : "null"; return;
      case Kind::String: text::append_json_string(out, v.as_string(), opt.ensure_ascii); return;
      case Kind::Array:
      case Kind::Object:
      case Kind::Namespace: break;
      default: throw RenderError(std::string("cannot convert a ") + kind_name(v.kind()) + " to JSON");
    }
    const std::string indent(opt.indent > 0 ? opt.indent : 0, ' ');
    std::string base = "\n";
    for (uint32_t i = 0; i < depth; ++i) base += indent;
    const std::string child = base + indent;
    const bool pretty = opt.indent > 0;
    if (v.is(Kind::Array)) {
      const auto& items = v.items();
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_sep;
        if (pretty) out += child;
        write(out, items[i], depth + 1);
      }
      if (pretty && !items.empty()) out += base;
      out += ']';
      return;
    }
    std::vector<const std::pair<std::string, Value>*> entries;
    for (const auto& e : v.object().entries) entries.push_back(&e);
    if (opt.sort_keys) {
      // localeCompare, approximated: case-insensitive first, then lower before upper.
      std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) {
        const std::string la = text::to_lower(a->first), lb = text::to_lower(b->first);
        if (la != lb) return la < lb;
        return a->first > b->first;
      });
    }
    out += '{';
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i) out += item_sep;
      if (pretty) out += child;
      key(out, entries[i]->first);
      out += key_sep;
      write(out, entries[i]->second, depth + 1);
    }
    if (pretty && !entries.empty()) out += base;
    out += '}';
  }
};

bool is_array_index(const std::string& k, uint64_t* n) {
  if (k.empty() || k.size() > 10 || (k.size() > 1 && k[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : k) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v >= 4294967295ull) return false;
  *n = v;
  return true;
}

Value convert(const nlohmann::ordered_json& j, uint32_t depth) {
  if (depth > kMaxNesting) throw RenderError("JSON input nested deeper than " + std::to_string(kMaxNesting) + " levels");
  using VT = nlohmann::ordered_json::value_t;
  switch (j.type()) {
    case VT::null: return Value::null();
    case VT::boolean: return Value::boolean(j.get<bool>());
    case VT::number_integer: return Value::integer(j.get<int64_t>());
    case VT::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      return u <= static_cast<uint64_t>(INT64_MAX) ? Value::integer(static_cast<int64_t>(u))
                                                   : Value::number(static_cast<double>(u));
    }
    case VT::number_float: {
      const double d = j.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18) return Value::integer(static_cast<int64_t>(d));
      return Value::number(d);
    }
    case VT::string: return Value::string(j.get<std::string>());
    case VT::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& x : j) items.push_back(convert(x, depth + 1));
      return Value::array(std::move(items));
    }
    case VT::object: {
      auto data = std::make_shared<ObjectData>();
      std::vector<std::pair<uint64_t, const std::string*>> numeric;
      for (auto it = j.begin(); it != j.end(); ++it) {
        uint64_t n = 0;
        if (is_array_index(it.key(), &n)) numeric.emplace_back(n, &it.key());
      }
      std::sort(numeric.begin(), numeric.end());
      for (const auto& [n, k] : numeric) data->set(*k, convert(j.at(*k), depth + 1));
      for (auto it = j.begin(); it != j.end(); ++it) {
        uint64_t n = 0;
        if (!is_array_index(it.key(), &n)) data->set(it.key(), convert(it.value(), depth + 1));
      }
      return Value::object(std::move(data));
    }
    default: throw RenderError("unsupported JSON value (binary)");
  }
}

}  // namespace

std::string to_json(const Value& v, const JsonOptions& opt) {
  std::string out;
  JsonWriter(opt).write(out, v, 0);
  return out;
}

Value from_json(const nlohmann::ordered_json& j) { return convert(j, 0); }

}  // namespace citadel::jinja
