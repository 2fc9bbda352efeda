#include "tokenizer/jinja_interpreter.h"

#include <cmath>
#include <optional>
#include <set>

#include "tokenizer/jinja_builtins.h"
#include "tokenizer/jinja_error.h"
#include "tokenizer/jinja_lexer.h"

namespace citadel::jinja {
namespace {

// {% break %} / {% continue %} unwind to the innermost loop, as exceptions do in the reference.
struct BreakSignal {};
struct ContinueSignal {};

[[noreturn]] void fail(const std::string& what) { throw RenderError(what); }

bool is_special_argument(const std::string& n) { return n == "kwargs" || n == "varargs"; }

// Which of kwargs / varargs a macro body reads (they are then bound, otherwise extra arguments
// are an error).
void find_special_arguments(const Node& n, std::set<std::string>& out) {
  if (n.kind == NodeKind::Identifier && is_special_argument(n.str)) out.insert(n.str);
  for (const Node* child : {n.a.get(), n.b.get(), n.c.get()})
    if (child) find_special_arguments(*child, out);
  for (const auto* list : {&n.args, &n.body, &n.alt})
    for (const auto& child : *list)
      if (child) find_special_arguments(*child, out);
  for (const auto& [k, v] : n.pairs) {
    find_special_arguments(*k, out);
    find_special_arguments(*v, out);
  }
}

std::set<std::string> special_arguments(const std::vector<NodePtr>& params, const std::vector<NodePtr>& body) {
  std::set<std::string> used;
  for (const auto& b : body) find_special_arguments(*b, used);
  for (const auto& p : params) used.erase(p->str);  // a parameter of that name is an ordinary one
  return used;
}

std::string describe_callee(const Node& n) {
  if (n.kind == NodeKind::Identifier) return "'" + n.str + "'";
  if (n.kind == NodeKind::Member && !n.flag && n.b->kind == NodeKind::Identifier) return "'." + n.b->str + "'";
  return "the expression";
}

class Interpreter {
 public:
  Interpreter(std::string_view source, const RenderOptions& opt) : source_(source), budget_(opt.limits), opt_(opt) {}

  std::string run(const Node& program, const std::vector<std::pair<std::string, Value>>& variables) {
    auto globals = std::make_shared<Scope>();
    auto now = opt_.now ? opt_.now : [] { return std::time(nullptr); };
    install_globals(*globals, budget_, now);
    for (const auto& [name, value] : variables) {
      if (globals->vars.count(name)) throw RenderError("variable '" + name + "' is already declared (a built-in)");
      globals->set(name, value);
    }
    try {
      return block(program.body, globals);
    } catch (const BreakSignal&) {
      throw RenderError("{% break %} outside a loop");
    } catch (const ContinueSignal&) {
      throw RenderError("{% continue %} outside a loop");
    }
  }

 private:
  struct Depth {
    Depth(Interpreter& in) : in_(in) {
      if (++in_.depth_ > in_.budget_.limits().max_depth)
        fail("template recursion deeper than " + std::to_string(in_.budget_.limits().max_depth));
    }
    ~Depth() { --in_.depth_; }
    Interpreter& in_;
  };

  std::string block(const std::vector<NodePtr>& statements, const ScopePtr& scope) {
    std::string out;
    for (const auto& st : statements) {
      Value v = eval(*st, scope);
      if (v.is_null() || v.is_undefined()) continue;
      if (v.is(Kind::String)) {
        out += v.as_string();
      } else {
        out += at(*st, [&] { return v.to_output(); });
      }
      if (out.size() > budget_.limits().max_string_bytes) budget_.bytes(out.size());
    }
    budget_.bytes(out.size());
    return out;
  }

  // Runs f, attaching the node's location to an error that has none yet.
  template <class F>
  auto at(const Node& n, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const RenderError& e) {
      if (e.line() > 0) throw;
      const SourceLocation loc = locate(source_, n.pos);
      throw RenderError(e.what(), loc.line, loc.column);
    }
  }

  Value eval(const Node& n, const ScopePtr& scope) {
    return at(n, [&] {
      Depth guard(*this);
      budget_.step();
      return eval_node(n, scope);
    });
  }

  Value eval_node(const Node& n, const ScopePtr& scope) {
    switch (n.kind) {
      case NodeKind::Program: return Value::string(block(n.body, scope));
      case NodeKind::Text: return Value::string(n.str);
      case NodeKind::Comment: return Value::null();
      case NodeKind::If: {
        const bool test = eval(*n.a, scope).truthy();
        return Value::string(block(test ? n.body : n.alt, scope));
      }
      case NodeKind::For: return Value::string(for_loop(n, scope));
      case NodeKind::Break: throw BreakSignal{};
      case NodeKind::Continue: throw ContinueSignal{};
      case NodeKind::Set: set(n, scope); return Value::null();
      case NodeKind::Macro: define_macro(n, scope); return Value::null();
      case NodeKind::CallBlock: return call_block(n, scope);
      case NodeKind::FilterBlock: return filter(Value::string(block(n.body, scope)), *n.a, scope);
      case NodeKind::Identifier: return scope->lookup(n.str);
      case NodeKind::Integer: return Value::integer(n.ival);
      case NodeKind::Float: return Value::number(n.fval);
      case NodeKind::String: return Value::string(n.str);
      case NodeKind::Array:
      case NodeKind::Tuple: {
        std::vector<Value> items;
        for (const auto& x : n.args) items.push_back(eval(*x, scope));
        return Value::array(std::move(items), n.kind == NodeKind::Array ? Kind::Array : Kind::Tuple);
      }
      case NodeKind::Object: {
        auto data = std::make_shared<ObjectData>();
        for (const auto& [k, v] : n.pairs) {
          Value key = eval(*k, scope);
          if (!key.is(Kind::String)) fail(std::string("mapping keys must be strings, got ") + kind_name(key.kind()));
          data->set(key.as_string(), eval(*v, scope));
        }
        return Value::object(std::move(data));
      }
      case NodeKind::Member: return member(n, scope);
      case NodeKind::Call: return call(n, scope);
      case NodeKind::Binary: return binary(n, scope);
      case NodeKind::Unary: return unary(n, scope);
      case NodeKind::Filter: return filter(eval(*n.a, scope), *n.b, scope);
      case NodeKind::Test: {
        const Value operand = eval(*n.a, scope);
        return Value::boolean(apply_test(n.str, operand) != n.flag);
      }
      case NodeKind::Select: return eval(*n.b, scope).truthy() ? eval(*n.a, scope) : Value();
      case NodeKind::Ternary: return eval(*n.a, scope).truthy() ? eval(*n.b, scope) : eval(*n.c, scope);
      case NodeKind::Slice:
      case NodeKind::KeywordArg:
      case NodeKind::Spread:
      case NodeKind::KwSpread: fail("this expression is only valid inside [] or an argument list");
    }
    fail("unsupported syntax node");
  }

  CallArgs arguments(const std::vector<NodePtr>& args, const ScopePtr& scope) {
    CallArgs out;
    for (const auto& a : args) {
      if (a->kind == NodeKind::Spread) {
        Value v = eval(*a->a, scope);
        if (!v.is_array()) fail(std::string("cannot unpack a ") + kind_name(v.kind()) + " with '*'");
        for (const Value& x : v.items()) out.positional.push_back(x);
      } else if (a->kind != NodeKind::KeywordArg && a->kind != NodeKind::KwSpread) {
        out.positional.push_back(eval(*a, scope));
      }
    }
    auto add = [&](const std::string& k, Value v) {
      if (out.kw(k)) fail("got multiple values for keyword argument '" + k + "'");
      out.keyword.emplace_back(k, std::move(v));
    };
    for (const auto& a : args) {
      if (a->kind == NodeKind::KeywordArg) {
        add(a->str, eval(*a->a, scope));
      } else if (a->kind == NodeKind::KwSpread) {
        Value v = eval(*a->a, scope);
        if (!v.is_object()) fail(std::string("the argument after ** must be a mapping, not a ") + kind_name(v.kind()));
        for (const auto& [k, x] : v.object().entries) add(k, x);
      }
    }
    return out;
  }

  static std::vector<Value> flatten(CallArgs&& a, bool always_kwargs = false) {
    std::vector<Value> out = std::move(a.positional);
    if (!a.keyword.empty() || always_kwargs) {
      auto kw = std::make_shared<ObjectData>();
      for (auto& [k, v] : a.keyword) kw->set(k, std::move(v));
      out.push_back(Value::object(std::move(kw), Kind::KwArgs));
    }
    return out;
  }

  Value call(const Node& n, const ScopePtr& scope) {
    std::vector<Value> args = flatten(arguments(n.args, scope));
    Value fn = eval(*n.a, scope);
    if (!fn.is(Kind::Function)) {
      if (fn.is_undefined()) fail(describe_callee(*n.a) + " is undefined: unknown function or method");
      fail("cannot call " + describe_callee(*n.a) + ": it is a " + kind_name(fn.kind()) + ", not a function");
    }
    return fn.function()(args, scope);
  }

  Value filter(const Value& operand, const Node& f, const ScopePtr& scope) {
    if (f.kind == NodeKind::Identifier) return apply_filter(f.str, operand, false, CallArgs{}, budget_);
    if (f.kind != NodeKind::Call || f.a->kind != NodeKind::Identifier) fail("unsupported filter expression");
    const std::string& name = f.a->str;
    if (name == "selectattr" || name == "rejectattr") {
      for (const auto& a : f.args)
        if (a->kind != NodeKind::String) fail("the arguments of '" + name + "' must be string literals");
    }
    return apply_filter(name, operand, true, arguments(f.args, scope), budget_);
  }

  Value member(const Node& n, const ScopePtr& scope) {
    const Value object = eval(*n.a, scope);
    if (n.flag && n.b->kind == NodeKind::Slice) {
      const Node& s = *n.b;
      auto bound = [&](const NodePtr& p) { return p ? eval(*p, scope) : Value(); };
      const Value start = bound(s.a), stop = bound(s.b), step = bound(s.c);
      return slice(object, start, stop, step, budget_);
    }
    Value key;
    if (n.flag) key = eval(*n.b, scope);
    else if (n.b->kind == NodeKind::Integer) key = Value::integer(n.b->ival);
    else key = Value::string(n.b->str);
    return get_member(object, key, budget_);
  }

  Value arithmetic(const std::string& op, const Value& l, const Value& r) {
    const bool is_float = l.is(Kind::Float) || r.is(Kind::Float);
    if (op == "+" || op == "-" || op == "*") {
      if (!is_float) {
        int64_t out = 0;
        const bool overflow = op == "+"   ? __builtin_add_overflow(l.as_int(), r.as_int(), &out)
                              : op == "-" ? __builtin_sub_overflow(l.as_int(), r.as_int(), &out)
                                          : __builtin_mul_overflow(l.as_int(), r.as_int(), &out);
        if (overflow) fail("integer overflow in '" + op + "'");
        return Value::integer(out);
      }
      const double a = l.as_double(), b = r.as_double();
      return Value::number(op == "+" ? a + b : op == "-" ? a - b : a * b);
    }
    const double a = l.as_double(), b = r.as_double();
    if (op == "/") return Value::number(a / b);
    if (op == "//" || op == "%") {
      if (!is_float) {
        if (r.as_int() == 0) fail("integer division or modulo by zero");
        if (op == "%") return Value::integer(l.as_int() % r.as_int());  // JS remainder: sign of the dividend
        return Value::integer(static_cast<int64_t>(std::floor(a / b)));
      }
      return Value::number(op == "%" ? std::fmod(a, b) : std::floor(a / b));
    }
    if (op == "<") return Value::boolean(a < b);
    if (op == ">") return Value::boolean(a > b);
    if (op == "<=") return Value::boolean(a <= b);
    if (op == ">=") return Value::boolean(a >= b);
    return Value();  // not an arithmetic operator: the caller reports it
  }

  Value binary(const Node& n, const ScopePtr& scope) {
    const std::string& op = n.str;
    const Value l = eval(*n.a, scope);
    if (op == "and") return l.truthy() ? eval(*n.b, scope) : l;
    if (op == "or") return l.truthy() ? l : eval(*n.b, scope);
    const Value r = eval(*n.b, scope);
    if (op == "==") return Value::boolean(loose_equals(l, r));
    if (op == "!=") return Value::boolean(!loose_equals(l, r));
    const bool membership = op == "in" || op == "not in";
    if (l.is_undefined() || r.is_undefined()) {
      if (r.is_undefined() && membership) return Value::boolean(op == "not in");
      fail("cannot apply '" + op + "' to an undefined value");
    }
    if (l.is_null() || r.is_null()) fail("cannot apply '" + op + "' to none");
    if (op == "~") {
      std::string s = l.raw_string() + r.raw_string();
      budget_.bytes(s.size());
      return Value::string(std::move(s));
    }
    auto numeric = [](const Value& v) { return v.is_number() || v.is(Kind::Bool); };
    if (op == "**" && numeric(l) && numeric(r)) {
      const double a = l.as_double(), b = r.as_double();
      if (a == 0 && b < 0) fail("0 cannot be raised to a negative power");
      const double res = std::pow(a, b);
      if (!std::isfinite(res)) fail("'**' result is not a finite number");
      if (l.is(Kind::Float) || r.is(Kind::Float) || b < 0) return Value::number(res);
      if (std::fabs(res) >= 9.2e18) fail("integer overflow in '**'");
      return Value::integer(static_cast<int64_t>(res));
    }
    if (l.is_number() && r.is_number()) {
      Value v = arithmetic(op, l, r);
      if (!v.is_undefined()) return v;
    } else if (l.is_array() && r.is_array()) {
      if (op == "+") {
        std::vector<Value> items = l.items();
        items.insert(items.end(), r.items().begin(), r.items().end());
        budget_.items(items.size());
        budget_.step(items.size());
        return Value::array(std::move(items));
      }
    } else if (r.is_array() && membership) {
      budget_.step(r.items().size() / 16);
      bool found = false;
      for (const Value& x : r.items()) {
        if (strict_equals(x, l)) {
          found = true;
          break;
        }
      }
      return Value::boolean(found == (op == "in"));
    }
    if ((l.is(Kind::String) || r.is(Kind::String)) && op == "+") {
      std::string s = l.raw_string() + r.raw_string();
      budget_.bytes(s.size());
      return Value::string(std::move(s));
    }
    if (l.is(Kind::String) && r.is(Kind::String) && membership)
      return Value::boolean((r.as_string().find(l.as_string()) != std::string::npos) == (op == "in"));
    if (l.is(Kind::String) && r.is_object() && membership)
      return Value::boolean((r.object().find(l.as_string()) != nullptr) == (op == "in"));
    fail("unsupported operator '" + op + "' between a " + kind_name(l.kind()) + " and a " + kind_name(r.kind()));
  }

  Value unary(const Node& n, const ScopePtr& scope) {
    const Value v = eval(*n.a, scope);
    if (n.str == "not") return Value::boolean(!v.truthy());
    const int sign = n.str == "-" ? -1 : 1;
    if (v.is(Kind::Float)) return Value::number(sign * v.as_float());
    if (v.is(Kind::Int)) {
      if (sign < 0 && v.as_int() == INT64_MIN) fail("integer overflow in unary '-'");
      return Value::integer(sign * v.as_int());
    }
    if (v.is(Kind::Bool)) return Value::integer(sign * (v.as_bool() ? 1 : 0));
    fail("unsupported unary '" + n.str + "' on a " + kind_name(v.kind()));
  }

  void set(const Node& n, const ScopePtr& scope) {
    const Value rhs = n.b ? eval(*n.b, scope) : Value::string(block(n.body, scope));
    const Node& target = *n.a;
    if (target.kind == NodeKind::Identifier) {
      scope->set(target.str, rhs);
    } else if (target.kind == NodeKind::Tuple) {
      if (!rhs.is_array()) fail(std::string("cannot unpack a ") + kind_name(rhs.kind()) + " in set");
      if (rhs.items().size() != target.args.size())
        fail(std::string("too ") + (target.args.size() > rhs.items().size() ? "few" : "many") + " items to unpack in set");
      for (size_t i = 0; i < target.args.size(); ++i) {
        if (target.args[i]->kind != NodeKind::Identifier) fail("can only unpack into names in set");
        scope->set(target.args[i]->str, rhs.items()[i]);
      }
    } else if (target.kind == NodeKind::Member) {
      const Value object = eval(*target.a, scope);
      if (!object.is(Kind::Namespace)) fail("cannot assign an attribute of a " + std::string(kind_name(object.kind())) + " (only of a namespace)");
      if (target.flag || target.b->kind != NodeKind::Identifier) fail("can only assign namespace attributes by name");
      object.mutable_object().set(target.b->str, rhs);
    } else {
      fail("invalid target of set");
    }
  }

  void bind(const Node& loopvar, const Value& item, Scope& s) {
    if (loopvar.kind == NodeKind::Identifier) {
      s.set(loopvar.str, item);
      return;
    }
    if (!item.is(Kind::Array)) fail(std::string("cannot unpack a ") + kind_name(item.kind()) + " into loop variables");
    if (item.items().size() != loopvar.args.size())
      fail(std::string("too ") + (loopvar.args.size() > item.items().size() ? "few" : "many") + " items to unpack");
    for (size_t j = 0; j < loopvar.args.size(); ++j) {
      if (loopvar.args[j]->kind != NodeKind::Identifier) fail("loop variables must be names");
      s.set(loopvar.args[j]->str, item.items()[j]);
    }
  }

  std::string for_loop(const Node& n, const ScopePtr& env) {
    auto scope = std::make_shared<Scope>(env);
    const Node* test = nullptr;
    Value iterable;
    if (n.b->kind == NodeKind::Select) {
      iterable = eval(*n.b->a, scope);
      test = n.b->b.get();
    } else {
      iterable = eval(*n.b, scope);
    }
    if (iterable.is_object()) {  // a mapping loops over its keys
      std::vector<Value> keys;
      for (const auto& e : iterable.object().entries) keys.push_back(Value::string(e.first));
      iterable = Value::array(std::move(keys));
    }
    if (!iterable.is_array()) fail(std::string("cannot loop over a ") + kind_name(iterable.kind()));
    std::vector<Value> items;
    for (const Value& current : iterable.items()) {
      budget_.step();
      if (test) {
        auto loop_scope = std::make_shared<Scope>(scope);
        bind(*n.a, current, *loop_scope);
        if (!eval(*test, loop_scope).truthy()) continue;
      } else if (n.a->kind == NodeKind::Tuple && !current.is(Kind::Array)) {
        bind(*n.a, current, *scope);  // reports the unpack error before the loop runs, as the reference
      }
      items.push_back(current);
    }
    std::string out;
    bool no_iteration = true;
    const int64_t count = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < count; ++i) {
      budget_.step();
      auto loop = std::make_shared<ObjectData>();
      loop->set("index", Value::integer(i + 1));
      loop->set("index0", Value::integer(i));
      loop->set("revindex", Value::integer(count - i));
      loop->set("revindex0", Value::integer(count - i - 1));
      loop->set("first", Value::boolean(i == 0));
      loop->set("last", Value::boolean(i == count - 1));
      loop->set("length", Value::integer(count));
      loop->set("previtem", i > 0 ? items[i - 1] : Value());
      loop->set("nextitem", i < count - 1 ? items[i + 1] : Value());
      scope->set("loop", Value::object(std::move(loop)));
      bind(*n.a, items[i], *scope);
      try {
        out += block(n.body, scope);
        if (out.size() > budget_.limits().max_string_bytes) budget_.bytes(out.size());
      } catch (const ContinueSignal&) {
        continue;
      } catch (const BreakSignal&) {
        break;
      }
      no_iteration = false;
    }
    if (no_iteration) out += block(n.alt, scope);
    return out;
  }

  // Binds call arguments to macro parameters, then evaluates defaults in the macro's scope.
  void bind_parameters(const std::string& name, const std::vector<NodePtr>& params,
                       const std::set<std::string>& special, std::vector<Value> args, const ScopePtr& scope_ptr) {
    Scope& scope = *scope_ptr;
    std::vector<std::pair<std::string, Value>> kwargs;
    if (!args.empty() && args.back().is(Kind::KwArgs)) {
      kwargs = args.back().object().entries;
      args.pop_back();
    }
    std::vector<const Node*> pending;
    for (size_t i = 0; i < params.size(); ++i) {
      const Node& p = *params[i];
      std::optional<Value> value;
      if (i < args.size()) value = args[i];
      if (!value) {
        for (auto it = kwargs.begin(); it != kwargs.end(); ++it) {
          if (it->first == p.str) {
            value = it->second;
            kwargs.erase(it);
            break;
          }
        }
      }
      if (!value && p.kind == NodeKind::KeywordArg) pending.push_back(&p);
      scope.set(p.str, value ? *value : Value());
    }
    if (special.count("kwargs")) {
      auto data = std::make_shared<ObjectData>();
      for (auto& [k, v] : kwargs) data->set(k, v);
      scope.set("kwargs", Value::object(std::move(data)));
    } else if (!kwargs.empty()) {
      fail("macro " + name + " takes no keyword argument '" + kwargs.front().first + "'");
    }
    if (special.count("varargs")) {
      std::vector<Value> rest;
      for (size_t i = params.size(); i < args.size(); ++i) rest.push_back(args[i]);
      scope.set("varargs", Value::array(std::move(rest)));
    } else if (args.size() > params.size()) {
      fail("macro " + name + " takes not more than " + std::to_string(params.size()) + " argument(s)");
    }
    for (const Node* p : pending) scope.set(p->str, eval(*p->a, scope_ptr));
  }

  void define_macro(const Node& n, const ScopePtr& scope) {
    const auto special = special_arguments(n.args, n.body);
    const Node* node = &n;
    scope->set(n.str, Value::function([this, node, special](std::vector<Value>& args, const ScopePtr& caller) {
      auto macro_scope = std::make_shared<Scope>(caller);
      bind_parameters("'" + node->str + "'", node->args, special, args, macro_scope);
      return Value::string(block(node->body, macro_scope));
    }));
  }

  Value call_block(const Node& n, const ScopePtr& env) {
    const auto special = special_arguments(n.args, n.body);
    const Node* node = &n;
    Value caller = Value::function([this, node, special, env](std::vector<Value>& args, const ScopePtr&) {
      auto scope = std::make_shared<Scope>(env);
      bind_parameters("caller", node->args, special, args, scope);
      return Value::string(block(node->body, scope));
    });
    const Node& call_node = *n.a;
    std::vector<Value> args = flatten(arguments(call_node.args, env), true);
    Value fn = eval(*call_node.a, env);
    if (!fn.is(Kind::Function)) fail("cannot call " + describe_callee(*call_node.a) + ": it is not a macro");
    auto with_caller = std::make_shared<Scope>(env);
    with_caller->set("caller", caller);
    return fn.function()(args, with_caller);
  }

  std::string_view source_;
  Budget budget_;
  const RenderOptions& opt_;
  int depth_ = 0;
};

}  // namespace

std::string render(const Node& program, std::string_view source,
                   const std::vector<std::pair<std::string, Value>>& variables, const RenderOptions& options) {
  return Interpreter(source, options).run(program, variables);
}

}  // namespace citadel::jinja
