#include "tokenizer/jinja_builtins.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja_error.h"
#include "tokenizer/jinja_text.h"

namespace citadel::jinja {

Value Scope::lookup(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return it->second;
  }
  return Value();
}

const Value* CallArgs::kw(const std::string& name) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return nullptr;
}

namespace {

[[noreturn]] void fail(const std::string& what) { throw RenderError(what); }

Value str(std::string s, Budget& budget) {
  budget.bytes(s.size());
  return Value::string(std::move(s));
}

Value make_list(std::vector<Value> items, Budget& budget) {
  budget.items(items.size());
  budget.step(items.size());
  return Value::array(std::move(items));
}

// Splits native-function arguments (trailing KwArgs value) into CallArgs.
CallArgs split_args(const std::vector<Value>& args) {
  CallArgs out;
  out.positional = args;
  if (!out.positional.empty() && out.positional.back().is(Kind::KwArgs)) {
    for (const auto& e : out.positional.back().object().entries) out.keyword.push_back(e);
    out.positional.pop_back();
  }
  return out;
}

// The reference's compareRuntimeValues (sort, dictsort).
int compare(const Value& a, const Value& b, bool case_sensitive) {
  if (a.is_null() && b.is_null()) return 0;
  if (a.is_null() || b.is_null()) fail(std::string("cannot compare ") + kind_name(a.kind()) + " with " + kind_name(b.kind()));
  if (a.is_undefined() && b.is_undefined()) return 0;
  if (a.is_undefined() || b.is_undefined())
    fail(std::string("cannot compare ") + kind_name(a.kind()) + " with " + kind_name(b.kind()));
  auto numeric = [](const Value& v) { return v.is_number() || v.is(Kind::Bool); };
  if (numeric(a) && numeric(b)) {
    const double x = a.as_double(), y = b.as_double();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.kind() != b.kind()) fail(std::string("cannot compare ") + kind_name(a.kind()) + " with " + kind_name(b.kind()));
  if (!a.is(Kind::String)) fail(std::string("cannot compare values of type ") + kind_name(a.kind()));
  std::string x = a.as_string(), y = b.as_string();
  if (!case_sensitive) {
    x = text::to_lower(x);
    y = text::to_lower(y);
  }
  return x < y ? -1 : x > y ? 1 : 0;
}

// "a.b.0" lookups for sort(attribute=) and map(attribute=).
Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (v.is_attribute_container()) {
      const Value* found = v.object().find(part);
      v = found ? *found : Value();
    } else if (v.is_array()) {
      int64_t idx = 0;
      if (!text::js_parse_int(part, &idx) || idx < 0 || static_cast<size_t>(idx) >= v.items().size()) return Value();
      v = v.items()[idx];
    } else {
      return Value();
    }
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

Value object_items(const Value& obj, Budget& budget) {
  std::vector<Value> out;
  for (const auto& [k, v] : obj.object().entries) out.push_back(Value::array({Value::string(k), v}));
  return make_list(std::move(out), budget);
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to, int64_t count,
                        Budget& budget) {
  if (count == 0) return s;
  int64_t remaining = count < 0 ? INT64_MAX : count;
  std::string out;
  if (from.empty()) {  // inserts at every code point boundary, ends included
    size_t i = 0, len = 0;
    while (true) {
      if (remaining > 0) {
        out += to;
        --remaining;
      }
      if (i >= s.size()) break;
      text::decode(s, i, &len);
      out.append(s, i, len);
      i += len;
      budget.bytes(0);
      if (out.size() > budget.limits().max_string_bytes) budget.bytes(out.size());
    }
  } else {
    size_t i = 0;
    while (true) {
      const size_t hit = remaining > 0 ? s.find(from, i) : std::string::npos;
      if (hit == std::string::npos) {
        out.append(s, i, std::string::npos);
        break;
      }
      out.append(s, i, hit - i);
      out += to;
      --remaining;
      i = hit + from.size();
      if (out.size() > budget.limits().max_string_bytes) budget.bytes(out.size());
    }
  }
  budget.bytes(out.size());
  return out;
}

Value string_split(const std::string& s, const CallArgs& a, Budget& budget) {
  const Value sep = a.at(0) ? *a.at(0) : Value::null();
  if (!(sep.is(Kind::String) || sep.is_null())) fail("split(): the separator must be a string or none");
  const Value maxsplit = a.at(1) ? *a.at(1) : Value::integer(-1);
  if (!maxsplit.is(Kind::Int)) fail("split(): maxsplit must be an integer");
  const int64_t max = maxsplit.as_int();
  std::vector<Value> out;
  if (sep.is_null()) {
    const std::string t = text::trim_start(s);
    size_t i = 0, len = 0;
    while (i < t.size()) {
      while (i < t.size() && text::is_js_space(text::decode(t, i, &len))) i += len;
      if (i >= t.size()) break;
      if (max != -1 && static_cast<int64_t>(out.size()) >= max) {
        out.push_back(Value::string(t.substr(i)));
        break;
      }
      const size_t b = i;
      while (i < t.size() && !text::is_js_space(text::decode(t, i, &len))) i += len;
      out.push_back(Value::string(t.substr(b, i - b)));
      budget.items(out.size());
    }
  } else {
    const std::string& d = sep.as_string();
    if (d.empty()) fail("split(): empty separator");
    std::vector<std::string> parts;
    size_t i = 0;
    while (true) {
      const size_t hit = s.find(d, i);
      if (hit == std::string::npos) {
        parts.push_back(s.substr(i));
        break;
      }
      parts.push_back(s.substr(i, hit - i));
      budget.items(parts.size());
      i = hit + d.size();
    }
    if (max != -1 && static_cast<int64_t>(parts.size()) > max) {
      std::string rest;
      for (size_t k = max; k < parts.size(); ++k) rest += (k > static_cast<size_t>(max) ? d : "") + parts[k];
      parts.resize(max);
      parts.push_back(std::move(rest));
    }
    for (auto& p : parts) out.push_back(Value::string(std::move(p)));
  }
  return make_list(std::move(out), budget);
}

Value affix_test(const std::string& s, const CallArgs& a, bool prefix) {
  const char* name = prefix ? "startswith" : "endswith";
  const Value* pat = a.at(0);
  if (!pat) fail(std::string(name) + "() requires an argument");
  auto test = [&](const std::string& p) {
    return p.size() <= s.size() && (prefix ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0);
  };
  if (pat->is(Kind::String)) return Value::boolean(test(pat->as_string()));
  if (pat->is_array()) {
    for (const Value& p : pat->items()) {
      if (!p.is(Kind::String)) fail(std::string(name) + "(): tuple elements must be strings");
      if (test(p.as_string())) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  fail(std::string(name) + "(): the argument must be a string or a tuple of strings");
}

Value string_method(const std::string& s, const std::string& name, Budget& budget) {
  using Fn = std::function<Value(const CallArgs&)>;
  Fn fn;
  if (name == "upper") fn = [s, &budget](const CallArgs&) { return str(text::to_upper(s), budget); };
  else if (name == "lower") fn = [s, &budget](const CallArgs&) { return str(text::to_lower(s), budget); };
  // The reference ignores strip's argument: strip('\n') trims all whitespace.
  else if (name == "strip") fn = [s, &budget](const CallArgs&) { return str(text::trim(s), budget); };
  else if (name == "lstrip") fn = [s, &budget](const CallArgs&) { return str(text::trim_start(s), budget); };
  else if (name == "rstrip") fn = [s, &budget](const CallArgs&) { return str(text::trim_end(s), budget); };
  else if (name == "title") fn = [s, &budget](const CallArgs&) { return str(text::title(s), budget); };
  else if (name == "capitalize") fn = [s, &budget](const CallArgs&) { return str(text::capitalize(s), budget); };
  else if (name == "startswith") fn = [s](const CallArgs& a) { return affix_test(s, a, true); };
  else if (name == "endswith") fn = [s](const CallArgs& a) { return affix_test(s, a, false); };
  else if (name == "split") fn = [s, &budget](const CallArgs& a) { return string_split(s, a, budget); };
  else if (name == "replace") {
    fn = [s, &budget](const CallArgs& a) {
      if (a.positional.size() < 2) fail("replace() requires two arguments");
      const Value &from = a.positional[0], &to = a.positional[1];
      if (!from.is(Kind::String) || !to.is(Kind::String)) fail("replace(): the arguments must be strings");
      const Value count = a.get(2, "count") ? *a.get(2, "count") : Value::null();
      if (!count.is(Kind::Int) && !count.is_null()) fail("replace(): count must be an integer or none");
      return str(replace_all(s, from.as_string(), to.as_string(), count.is_null() ? -1 : count.as_int(), budget), budget);
    };
  } else if (name == "length") {
    return Value::integer(static_cast<int64_t>(text::utf16_length(s)));
  } else {
    return Value();
  }
  return Value::function([fn](std::vector<Value>& args, const ScopePtr&) { return fn(split_args(args)); });
}

Value dictsort(const Value& obj, const CallArgs& a, Budget& budget) {
  const Value case_sensitive = a.get(0, "case_sensitive") ? *a.get(0, "case_sensitive") : Value::boolean(false);
  const Value by = a.get(1, "by") ? *a.get(1, "by") : Value::string("key");
  const Value reverse = a.get(2, "reverse") ? *a.get(2, "reverse") : Value::boolean(false);
  if (!case_sensitive.is(Kind::Bool) || !reverse.is(Kind::Bool)) fail("dictsort(): case_sensitive and reverse must be booleans");
  if (!by.is(Kind::String) || (by.as_string() != "key" && by.as_string() != "value"))
    fail("dictsort(): by must be 'key' or 'value'");
  std::vector<Value> items = object_items(obj, budget).items();
  const size_t idx = by.as_string() == "key" ? 0 : 1;
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    const int r = compare(x.items()[idx], y.items()[idx], case_sensitive.as_bool());
    return reverse.as_bool() ? r > 0 : r < 0;
  });
  return make_list(std::move(items), budget);
}

Value object_method(const Value& obj, const std::string& name, Budget& budget) {
  using Fn = std::function<Value(const CallArgs&)>;
  Fn fn;
  if (name == "get") {
    fn = [obj](const CallArgs& a) {
      const Value* key = a.at(0);
      if (!key || !key->is(Kind::String)) fail(std::string("get(): the key must be a string, got ") + kind_name(key ? key->kind() : Kind::Undefined));
      const Value* found = obj.object().find(key->as_string());
      if (found) return *found;
      return a.at(1) ? *a.at(1) : Value::null();
    };
  } else if (name == "items") {
    fn = [obj, &budget](const CallArgs&) { return object_items(obj, budget); };
  } else if (name == "keys") {
    fn = [obj, &budget](const CallArgs&) {
      std::vector<Value> out;
      for (const auto& e : obj.object().entries) out.push_back(Value::string(e.first));
      return make_list(std::move(out), budget);
    };
  } else if (name == "values") {
    fn = [obj, &budget](const CallArgs&) {
      std::vector<Value> out;
      for (const auto& e : obj.object().entries) out.push_back(e.second);
      return make_list(std::move(out), budget);
    };
  } else if (name == "dictsort") {
    fn = [obj, &budget](const CallArgs& a) { return dictsort(obj, a, budget); };
  } else {
    return Value();
  }
  return Value::function([fn](std::vector<Value>& args, const ScopePtr&) { return fn(split_args(args)); });
}

std::string indent_lines(const std::string& s, size_t width, bool first, bool blank, Budget& budget) {
  const std::string pad(width, ' ');
  std::string out;
  size_t start = 0;
  for (size_t line = 0;; ++line) {
    const size_t nl = s.find('\n', start);
    const std::string part = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!((!first && line == 0) || (!blank && part.empty()))) out += pad;
    out += part;
    if (out.size() > budget.limits().max_string_bytes) budget.bytes(out.size());
    if (nl == std::string::npos) break;
    out += '\n';
    start = nl + 1;
  }
  return out;
}

Value tojson_filter(const Value& operand, const CallArgs& a, Budget& budget) {
  JsonOptions opt;
  if (const Value* indent = a.kw("indent")) {
    if (indent->is(Kind::Int)) {
      if (indent->as_int() < 0 || indent->as_int() > 64) fail("tojson: indent out of range");
      opt.indent = static_cast<int>(indent->as_int());
    } else if (!indent->is_null()) {
      fail("tojson: indent must be an integer");
    }
  }
  if (const Value* v = a.kw("ensure_ascii")) {
    if (!v->is(Kind::Bool)) fail("tojson: ensure_ascii must be a boolean");
    opt.ensure_ascii = v->as_bool();
  }
  if (const Value* v = a.kw("sort_keys")) {
    if (!v->is(Kind::Bool)) fail("tojson: sort_keys must be a boolean");
    opt.sort_keys = v->as_bool();
  }
  if (const Value* v = a.kw("separators")) {
    if (v->is_array()) {
      if (v->items().size() != 2 || !v->items()[0].is(Kind::String) || !v->items()[1].is(Kind::String))
        fail("tojson: separators must be a tuple of two strings");
      opt.separators = std::make_pair(v->items()[0].as_string(), v->items()[1].as_string());
    } else if (!v->is_null()) {
      fail("tojson: separators must be a tuple of two strings");
    }
  }
  return str(to_json(operand, opt), budget);
}

[[noreturn]] void unknown_filter(const std::string& name, const Value& operand) {
  fail("unknown or unsupported filter '" + name + "' for a " + kind_name(operand.kind()));
}

Value filter_plain(const std::string& name, const Value& operand, Budget& budget) {
  if (operand.is_array()) {
    const auto& items = operand.items();
    if (name == "list") return operand;
    if (name == "first") return items.empty() ? Value() : items.front();
    if (name == "last") return items.empty() ? Value() : items.back();
    if (name == "length") return Value::integer(static_cast<int64_t>(items.size()));
    if (name == "reverse") return make_list(std::vector<Value>(items.rbegin(), items.rend()), budget);
    if (name == "sort") {
      std::vector<Value> out = items;
      std::stable_sort(out.begin(), out.end(), [](const Value& x, const Value& y) { return compare(x, y, false) < 0; });
      return make_list(std::move(out), budget);
    }
    if (name == "join") {
      std::string out;
      for (const Value& x : items) {
        out += x.raw_string();
        if (out.size() > budget.limits().max_string_bytes) budget.bytes(out.size());
      }
      return str(std::move(out), budget);
    }
    if (name == "string") {
      JsonOptions opt;
      opt.undefined_as_null = false;
      return str(to_json(operand, opt), budget);
    }
    if (name == "unique") {
      std::vector<Value> out;
      for (const Value& x : items) {
        budget.step(out.size() + 1);
        bool seen = false;
        for (const Value& y : out) seen = seen || strict_equals(x, y) || (x.is(Kind::Float) && y.is(Kind::Float) && std::isnan(x.as_float()) && std::isnan(y.as_float()));
        if (!seen) out.push_back(x);
      }
      return make_list(std::move(out), budget);
    }
    unknown_filter(name, operand);
  }
  if (operand.is(Kind::String)) {
    const std::string& s = operand.as_string();
    if (name == "length") return Value::integer(static_cast<int64_t>(text::utf16_length(s)));
    if (name == "upper") return str(text::to_upper(s), budget);
    if (name == "lower") return str(text::to_lower(s), budget);
    if (name == "title") return str(text::title(s), budget);
    if (name == "capitalize") return str(text::capitalize(s), budget);
    if (name == "trim") return str(text::trim(s), budget);
    if (name == "indent") return str(indent_lines(s, 4, false, false, budget), budget);
    if (name == "join" || name == "string") return operand;
    if (name == "int") {
      int64_t v = 0;
      return Value::integer(text::js_parse_int(s, &v) ? v : 0);
    }
    if (name == "float") {
      double v = 0;
      return Value::number(text::js_parse_float(s, &v) ? v : 0);
    }
    unknown_filter(name, operand);
  }
  if (operand.is_number()) {
    const bool is_int = operand.is(Kind::Int);
    if (name == "abs") return is_int ? Value::integer(operand.as_int() < 0 ? -operand.as_int() : operand.as_int()) : Value::number(std::fabs(operand.as_float()));
    if (name == "int") return is_int ? operand : Value::integer(static_cast<int64_t>(std::floor(operand.as_float())));
    if (name == "float") return Value::number(operand.as_double());
    if (name == "string") return str(operand.to_output(), budget);
    unknown_filter(name, operand);
  }
  if (operand.is_object()) {
    if (name == "items") return object_items(operand, budget);
    if (name == "length") return Value::integer(static_cast<int64_t>(operand.object().size()));
    Value method = object_method(operand, name, budget);
    if (method.is(Kind::Function)) {
      std::vector<Value> none;
      return method.function()(none, nullptr);
    }
    unknown_filter(name, operand);
  }
  if (operand.is(Kind::Bool)) {
    if (name == "bool") return operand;
    if (name == "int") return Value::integer(operand.as_bool() ? 1 : 0);
    if (name == "float") return Value::number(operand.as_bool() ? 1 : 0);
    if (name == "string") return Value::string(operand.as_bool() ? "true" : "false");
    unknown_filter(name, operand);
  }
  fail("cannot apply filter '" + name + "' to a " + kind_name(operand.kind()));
}

Value filter_called(const std::string& name, const Value& operand, const CallArgs& a, Budget& budget) {
  if (name == "tojson") return tojson_filter(operand, a, budget);
  if (name == "join") {
    std::vector<std::string> parts;
    if (operand.is(Kind::String)) {
      for (char32_t cp : text::code_points(operand.as_string())) {
        std::string c;
        text::append_utf8(c, cp);
        parts.push_back(std::move(c));
      }
    } else if (operand.is_array()) {
      for (const Value& x : operand.items()) parts.push_back(x.raw_string());
    } else {
      fail("cannot apply filter 'join' to a " + std::string(kind_name(operand.kind())));
    }
    const Value sep = a.get(0, "separator") ? *a.get(0, "separator") : Value::string("");
    if (!sep.is(Kind::String)) fail("join: the separator must be a string");
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i) out += sep.as_string();
      out += parts[i];
      if (out.size() > budget.limits().max_string_bytes) budget.bytes(out.size());
    }
    return str(std::move(out), budget);
  }
  if (name == "int" || name == "float") {
    const bool as_int = name == "int";
    const Value def = a.get(0, "default") ? *a.get(0, "default") : as_int ? Value::integer(0) : Value::number(0);
    if (operand.is(Kind::String)) {
      if (as_int) {
        int64_t v = 0;
        return text::js_parse_int(operand.as_string(), &v) ? Value::integer(v) : def;
      }
      double v = 0;
      return text::js_parse_float(operand.as_string(), &v) ? Value::number(v) : def;
    }
    if (operand.is_number()) return operand;
    if (operand.is(Kind::Bool)) return as_int ? Value::integer(operand.as_bool()) : Value::number(operand.as_bool());
    fail("cannot apply filter '" + name + "' to a " + kind_name(operand.kind()));
  }
  if (name == "default") {
    const Value def = a.at(0) ? *a.at(0) : Value::string("");
    const Value boolean = a.get(1, "boolean") ? *a.get(1, "boolean") : Value::boolean(false);
    if (!boolean.is(Kind::Bool)) fail("default: the boolean flag must be a boolean");
    if (operand.is_undefined() || (boolean.as_bool() && !operand.truthy())) return def;
    return operand;
  }
  if (operand.is_array()) {
    const auto& items = operand.items();
    if (name == "sort") {
      const Value reverse = a.get(0, "reverse") ? *a.get(0, "reverse") : Value::boolean(false);
      const Value cs = a.get(1, "case_sensitive") ? *a.get(1, "case_sensitive") : Value::boolean(false);
      const Value attr = a.get(2, "attribute") ? *a.get(2, "attribute") : Value::null();
      if (!reverse.is(Kind::Bool) || !cs.is(Kind::Bool)) fail("sort: reverse and case_sensitive must be booleans");
      if (!attr.is(Kind::String) && !attr.is(Kind::Int) && !attr.is_null()) fail("sort: attribute must be a string or an integer");
      auto key = [&](const Value& item) {
        if (attr.is_null()) return item;
        return attribute_path(item, attr.is(Kind::Int) ? std::to_string(attr.as_int()) : attr.as_string());
      };
      std::vector<Value> out = items;
      std::stable_sort(out.begin(), out.end(), [&](const Value& x, const Value& y) {
        const int r = compare(key(x), key(y), cs.as_bool());
        return reverse.as_bool() ? r > 0 : r < 0;
      });
      return make_list(std::move(out), budget);
    }
    if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject") {
      const bool by_attr = name.size() > 6;
      const bool keep = name[0] == 's';
      for (const Value& item : items)
        if (by_attr && !item.is_attribute_container()) fail(name + " can only be applied to a list of objects");
      const size_t first_test_arg = by_attr ? 1 : 0;
      const Value* attr = by_attr ? a.at(0) : nullptr;
      if (by_attr && (!attr || !attr->is(Kind::String))) fail(name + ": the attribute must be a string");
      const Value* test = a.at(first_test_arg);
      const Value* test_arg = a.at(first_test_arg + 1);
      std::vector<Value> out;
      for (const Value& item : items) {
        budget.step();
        bool result = false;
        const Value* subject = &item;
        if (by_attr) subject = item.object().find(attr->as_string());
        if (subject) {
          if (test) {
            if (!test->is(Kind::String)) fail(name + ": the test name must be a string");
            result = apply_test(test->as_string(), *subject, test_arg);
          } else {
            result = subject->truthy();
          }
        }
        if (result == keep) out.push_back(item);
      }
      return make_list(std::move(out), budget);
    }
    if (name == "map") {
      const Value* attr = a.kw("attribute");
      if (!attr) fail("map: only map(attribute=...) is supported");
      if (!attr->is(Kind::String)) fail("map: attribute must be a string");
      const Value* def = a.kw("default");
      std::vector<Value> out;
      for (const Value& item : items) {
        if (!item.is_attribute_container()) fail("map: the items must be objects");
        Value v = attribute_path(item, attr->as_string());
        out.push_back(v.is_undefined() && def ? *def : v);
      }
      return make_list(std::move(out), budget);
    }
    unknown_filter(name, operand);
  }
  if (operand.is(Kind::String)) {
    if (name == "indent") {
      const Value width = a.get(0, "width") ? *a.get(0, "width") : Value::integer(4);
      if (!width.is(Kind::Int) || width.as_int() < 0 || width.as_int() > 1024) fail("indent: width must be a small integer");
      const Value* first = a.get(1, "first");
      const Value* blank = a.get(2, "blank");
      return str(indent_lines(operand.as_string(), static_cast<size_t>(width.as_int()), first && first->truthy(),
                              blank && blank->truthy(), budget),
                 budget);
    }
    if (name == "replace") {
      Value method = string_method(operand.as_string(), "replace", budget);
      std::vector<Value> args = a.positional;
      auto kw = std::make_shared<ObjectData>();
      for (const auto& [k, v] : a.keyword) kw->set(k, v);
      args.push_back(Value::object(kw, Kind::KwArgs));
      return method.function()(args, nullptr);
    }
    unknown_filter(name, operand);
  }
  if (operand.is_object()) {
    Value method = object_method(operand, name, budget);
    if (!method.is(Kind::Function)) unknown_filter(name, operand);
    std::vector<Value> args = a.positional;
    if (!a.keyword.empty()) {
      auto kw = std::make_shared<ObjectData>();
      for (const auto& [k, v] : a.keyword) kw->set(k, v);
      args.push_back(Value::object(kw, Kind::KwArgs));
    }
    return method.function()(args, nullptr);
  }
  fail("cannot apply filter '" + name + "' to a " + kind_name(operand.kind()));
}

std::vector<Value> range_values(const std::vector<Value>& args, Budget& budget) {
  std::vector<int64_t> n;
  for (const Value& v : args) {
    if (v.is(Kind::KwArgs)) fail("range() takes no keyword arguments");
    if (!v.is(Kind::Int)) fail(std::string("range() arguments must be integers, got ") + kind_name(v.kind()));
    n.push_back(v.as_int());
  }
  if (n.empty() || n.size() > 3) fail("range() takes 1 to 3 arguments");
  int64_t start = 0, stop = n[0], step = 1;
  if (n.size() >= 2) start = n[0], stop = n[1];
  if (n.size() == 3) step = n[2];
  if (step == 0) fail("range() step must not be zero");
  std::vector<Value> out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    out.push_back(Value::integer(i));
    budget.items(out.size());
  }
  budget.step(out.size());
  return out;
}

Value make_namespace(std::vector<Value>& args) {
  CallArgs a = split_args(args);
  if (a.positional.size() > 1) fail("namespace() takes at most 1 positional argument");
  auto data = std::make_shared<ObjectData>();
  if (!a.positional.empty()) {
    const Value& src = a.positional[0];
    if (src.is_object()) {
      for (const auto& [k, v] : src.object().entries) data->set(k, v);
    } else if (src.is_array()) {
      for (const Value& pair : src.items()) {
        if (!pair.is_array() || pair.items().size() != 2 || !pair.items()[0].is(Kind::String))
          fail("namespace() expects a mapping or a list of [key, value] pairs");
        data->set(pair.items()[0].as_string(), pair.items()[1]);
      }
    } else {
      fail(std::string("namespace(): a ") + kind_name(src.kind()) + " is not iterable");
    }
  }
  for (const auto& [k, v] : a.keyword) data->set(k, v);
  return Value::object(std::move(data), Kind::Namespace);
}

}  // namespace

std::string strftime_js(std::time_t t, const std::string& format) {
  static const char* kShort[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  static const char* kLong[] = {"January", "February", "March", "April", "May", "June", "July",
                                "August", "September", "October", "November", "December"};
  std::tm tm{};
  localtime_r(&t, &tm);
  auto pad2 = [](int v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d", v);
    return std::string(buf);
  };
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 >= format.size()) {
      out += format[i];
      continue;
    }
    const char c = format[i + 1];
    switch (c) {
      case 'Y': out += std::to_string(tm.tm_year + 1900); break;
      case 'm': out += pad2(tm.tm_mon + 1); break;
      case 'd': out += pad2(tm.tm_mday); break;
      case 'b': out += kShort[tm.tm_mon]; break;
      case 'B': out += kLong[tm.tm_mon]; break;
      case 'H': out += pad2(tm.tm_hour); break;
      case 'M': out += pad2(tm.tm_min); break;
      case '%': out += '%'; break;
      default: out += '%'; out += c; break;  // left as is, like the reference
    }
    ++i;
  }
  return out;
}

void install_globals(Scope& g, Budget& budget, std::function<std::time_t()> now) {
  g.set("true", Value::boolean(true));
  g.set("false", Value::boolean(false));
  g.set("none", Value::null());
  g.set("True", Value::boolean(true));
  g.set("False", Value::boolean(false));
  g.set("None", Value::null());
  g.set("namespace", Value::function([](std::vector<Value>& args, const ScopePtr&) { return make_namespace(args); }));
  g.set("raise_exception", Value::function([](std::vector<Value>& args, const ScopePtr&) -> Value {
          throw RaisedException(args.empty() ? std::string() : args[0].raw_string());
        }));
  g.set("range", Value::function([&budget](std::vector<Value>& args, const ScopePtr&) {
          return Value::array(range_values(args, budget));
        }));
  g.set("strftime_now", Value::function([now, &budget](std::vector<Value>& args, const ScopePtr&) {
          if (args.empty() || !args[0].is(Kind::String)) fail("strftime_now() expects a format string");
          return str(strftime_js(now(), args[0].as_string()), budget);
        }));
}

Value apply_filter(const std::string& name, const Value& operand, bool called, const CallArgs& args, Budget& budget) {
  if (name == "safe") return operand;
  if (name == "tojson" && !called) return str(to_json(operand), budget);
  return called ? filter_called(name, operand, args, budget) : filter_plain(name, operand, budget);
}

bool apply_test(const std::string& name, const Value& v, const Value* arg) {
  const Kind k = v.kind();
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_null();
  if (name == "boolean") return k == Kind::Bool;
  if (name == "true") return k == Kind::Bool && v.as_bool();
  if (name == "false") return k == Kind::Bool && !v.as_bool();
  if (name == "string") return k == Kind::String;
  if (name == "number") return v.is_number();
  if (name == "integer") return k == Kind::Int;
  if (name == "iterable") return k == Kind::Array || k == Kind::String;
  if (name == "mapping") return v.is_object();
  if (name == "sequence") return v.is_array() || v.is_object() || k == Kind::String;
  if (name == "callable") return k == Kind::Function;
  if (name == "lower") return k == Kind::String && text::to_lower(v.as_string()) == v.as_string();
  if (name == "upper") return k == Kind::String && text::to_upper(v.as_string()) == v.as_string();
  if (name == "odd" || name == "even") {
    if (k != Kind::Int) fail("cannot test '" + name + "' on a " + kind_name(k));
    return (v.as_int() % 2 != 0) == (name == "odd");
  }
  if (name == "equalto" || name == "eq") return strict_equals(v, arg ? *arg : Value());
  fail("unknown or unsupported test '" + name + "'");
}

Value get_member(const Value& object, const Value& key, Budget& budget) {
  if (object.is_attribute_container()) {
    if (!key.is(Kind::String)) fail(std::string("cannot access a member with a ") + kind_name(key.kind()) + " key");
    if (const Value* found = object.object().find(key.as_string())) return *found;
    return object.is_object() ? object_method(object, key.as_string(), budget) : Value();
  }
  if (object.is_array() || object.is(Kind::String)) {
    if (key.is(Kind::Int)) {
      int64_t i = key.as_int();
      if (object.is_array()) {
        const auto& items = object.items();
        if (i < 0) i += static_cast<int64_t>(items.size());
        return i >= 0 && static_cast<size_t>(i) < items.size() ? items[i] : Value();
      }
      // String indexing counts UTF-16 units, as in JS.
      const std::string& s = object.as_string();
      const int64_t n = static_cast<int64_t>(text::utf16_length(s));
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value();
      int64_t unit = 0;
      for (size_t p = 0, len = 0; p < s.size(); p += len) {
        const char32_t cp = text::decode(s, p, &len);
        const int64_t w = cp > 0xFFFF ? 2 : 1;
        if (i < unit + w) return Value::string(w == 2 ? "\xEF\xBF\xBD" : s.substr(p, len));
        unit += w;
      }
      return Value();
    }
    if (key.is(Kind::String)) {
      if (object.is_array()) {
        return key.as_string() == "length" ? Value::integer(static_cast<int64_t>(object.items().size())) : Value();
      }
      return string_method(object.as_string(), key.as_string(), budget);
    }
    fail(std::string("cannot index a ") + kind_name(object.kind()) + " with a " + kind_name(key.kind()));
  }
  if (!key.is(Kind::String)) fail(std::string("cannot access a member with a ") + kind_name(key.kind()) + " key");
  return Value();
}

Value slice(const Value& object, const Value& start_v, const Value& stop_v, const Value& step_v, Budget& budget) {
  if (!object.is_array() && !object.is(Kind::String)) fail(std::string("cannot slice a ") + kind_name(object.kind()));
  for (const Value* v : {&start_v, &stop_v, &step_v})
    if (!v->is(Kind::Int) && !v->is_undefined()) fail("slice bounds must be integers");
  std::vector<char32_t> cps;
  int64_t len = 0;
  if (object.is_array()) {
    len = static_cast<int64_t>(object.items().size());
  } else {
    cps = text::code_points(object.as_string());
    len = static_cast<int64_t>(cps.size());
  }
  const int64_t step = step_v.is_undefined() ? 1 : step_v.as_int();
  int64_t start, stop;
  if (step >= 0) {
    start = start_v.is_undefined() ? 0 : start_v.as_int();
    stop = stop_v.is_undefined() ? len : stop_v.as_int();
    start = start < 0 ? std::max<int64_t>(len + start, 0) : std::min(start, len);
    stop = stop < 0 ? std::max<int64_t>(len + stop, 0) : std::min(stop, len);
  } else {
    start = start_v.is_undefined() ? len - 1 : start_v.as_int();
    stop = stop_v.is_undefined() ? -1 : stop_v.as_int();
    start = start < 0 ? std::max<int64_t>(len + start, -1) : std::min(start, len - 1);
    stop = stop < -1 ? std::max<int64_t>(len + stop, -1) : std::min(stop, len - 1);
  }
  const int64_t dir = step > 0 ? 1 : step < 0 ? -1 : 0;
  std::vector<Value> items;
  std::string out;
  for (int64_t i = start; dir * i < dir * stop; i += step) {
    if (object.is_array()) {
      items.push_back(object.items()[i]);
    } else {
      text::append_utf8(out, cps[i]);
    }
  }
  if (object.is_array()) return make_list(std::move(items), budget);
  return str(std::move(out), budget);
}

}  // namespace citadel::jinja
