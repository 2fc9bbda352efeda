// The built-in library, as the reference (@huggingface/jinja) defines it: global functions,
// filters, tests, and the methods of strings and mappings. Filters behave differently when called
// with parentheses (`|indent` vs `|indent(2)`), as in the reference, hence `called`.
#pragma once
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja_limits.h"
#include "tokenizer/jinja_value.h"

namespace citadel::jinja {

struct Scope {
  std::shared_ptr<Scope> parent;
  std::unordered_map<std::string, Value> vars;

  explicit Scope(std::shared_ptr<Scope> p = nullptr) : parent(std::move(p)) {}
  Value lookup(const std::string& name) const;  // undefined when absent everywhere
  void set(const std::string& name, Value v) { vars[name] = std::move(v); }
};
using ScopePtr = std::shared_ptr<Scope>;

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  const Value* at(size_t i) const { return i < positional.size() ? &positional[i] : nullptr; }
  const Value* kw(const std::string& name) const;
  // Positional i, else keyword `name`, else nullptr.
  const Value* get(size_t i, const std::string& name) const { return at(i) ? at(i) : kw(name); }
};

// true/false/none (and capitalised), namespace(), range(), raise_exception(), strftime_now().
// `now` gives the time strftime_now formats (local time).
void install_globals(Scope& globals, Budget& budget, std::function<std::time_t()> now);

Value apply_filter(const std::string& name, const Value& operand, bool called, const CallArgs& args, Budget& budget);
bool apply_test(const std::string& name, const Value& operand, const Value* arg = nullptr);
// obj.name / obj[key]: mapping entries, list/string indexing, and the bound methods of strings and
// mappings (s.startswith, d.items...). Undefined when there is no such member.
Value get_member(const Value& object, const Value& key, Budget& budget);
// Python-style slice over a list (items) or a string (code points); bounds may be undefined.
Value slice(const Value& object, const Value& start, const Value& stop, const Value& step, Budget& budget);

// Runs the strftime subset of the reference (%Y %m %d %b %B %H %M %%) on a local time.
std::string strftime_js(std::time_t t, const std::string& format);

}  // namespace citadel::jinja
