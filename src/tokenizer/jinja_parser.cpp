#include "tokenizer/jinja_parser.h"

#include <cerrno>
#include <cstdlib>
#include <set>

#include "tokenizer/jinja_error.h"

namespace citadel::jinja {
namespace {

using T = TokenType;

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, std::string_view source, int max_depth)
      : t_(tokens), src_(source), max_depth_(max_depth) {}

  NodePtr program() {
    auto prog = node(NodeKind::Program, 0);
    while (cur_ < t_.size()) prog->body.push_back(any());
    return prog;
  }

 private:
  // Guards recursion so hostile nesting is an error, not a stack overflow.
  struct Depth {
    explicit Depth(Parser& p) : p_(p) {
      if (++p_.depth_ > p_.max_depth_) p_.fail("template nesting is deeper than " + std::to_string(p_.max_depth_));
    }
    ~Depth() { --p_.depth_; }
    Parser& p_;
  };

  [[noreturn]] void fail(const std::string& what) const { fail_at(what, cur_); }
  [[noreturn]] void fail_at(const std::string& what, size_t index) const {
    const size_t pos = index < t_.size() ? t_[index].pos : src_.size();
    const SourceLocation loc = locate(src_, pos);
    throw SyntaxError(what, loc.line, loc.column);
  }
  NodePtr node(NodeKind k, size_t index) const {
    return std::make_unique<Node>(k, index < t_.size() ? t_[index].pos : src_.size());
  }
  std::string describe(size_t index) const {
    if (index >= t_.size()) return "end of template";
    const Token& tok = t_[index];
    if (tok.type == T::Identifier) return "'" + tok.value + "'";
    if (tok.type == T::StringLiteral) return "string literal";
    if (tok.type == T::Text) return "text";
    return token_type_name(tok.type);
  }

  bool is(T type, size_t k = 0) const { return cur_ + k < t_.size() && t_[cur_ + k].type == type; }
  bool is_ident(const char* name, size_t k = 0) const { return is(T::Identifier, k) && t_[cur_ + k].value == name; }
  bool is_statement(std::initializer_list<const char*> names) const {
    if (!is(T::OpenStatement) || !is(T::Identifier, 1)) return false;
    for (const char* n : names)
      if (t_[cur_ + 1].value == n) return true;
    return false;
  }
  const Token& expect(T type, const char* what) {
    if (!is(type)) fail(std::string("expected ") + what + ", found " + describe(cur_));
    return t_[cur_++];
  }
  void expect_ident(const char* name) {
    if (!is_ident(name)) fail(std::string("expected '") + name + "', found " + describe(cur_));
    ++cur_;
  }
  // Statements up to one of `ends`; a missing end tag is an error naming the opening tag.
  std::vector<NodePtr> block_until(std::initializer_list<const char*> ends, size_t opened_at, const char* opener) {
    std::vector<NodePtr> body;
    while (!is_statement(ends)) {
      if (cur_ >= t_.size()) {
        std::string names;
        for (const char* e : ends) names += std::string(names.empty() ? "" : " or ") + "{% " + e + " %}";
        fail_at(std::string("'") + opener + "' block is not closed: expected " + names, opened_at);
      }
      body.push_back(any());
    }
    return body;
  }
  void end_tag(const char* name) {
    expect(T::OpenStatement, "'{%'");
    expect_ident(name);
    expect(T::CloseStatement, "'%}'");
  }

  NodePtr any() {
    Depth guard(*this);
    switch (t_[cur_].type) {
      case T::Comment: {
        auto n = node(NodeKind::Comment, cur_++);
        return n;
      }
      case T::Text: {
        auto n = node(NodeKind::Text, cur_);
        n->str = t_[cur_++].value;
        return n;
      }
      case T::OpenStatement: return statement();
      case T::OpenExpression: {
        ++cur_;
        auto e = expression();
        expect(T::CloseExpression, "'}}'");
        return e;
      }
      default: fail("unexpected " + describe(cur_));
    }
  }

  NodePtr statement() {
    const size_t open = cur_;
    expect(T::OpenStatement, "'{%'");
    if (!is(T::Identifier)) fail("expected a statement name after '{%', found " + describe(cur_));
    const std::string name = t_[cur_].value;
    ++cur_;
    if (name == "set") return set_statement(open);
    if (name == "if") {
      auto n = if_statement(open);
      end_tag("endif");
      return n;
    }
    if (name == "for") {
      auto n = for_statement(open);
      end_tag("endfor");
      return n;
    }
    if (name == "macro") {
      auto n = node(NodeKind::Macro, open);
      if (!is(T::Identifier)) fail("expected a macro name, found " + describe(cur_));
      n->str = t_[cur_++].value;
      n->args = arguments(true);
      expect(T::CloseStatement, "'%}'");
      n->body = block_until({"endmacro"}, open, "macro");
      end_tag("endmacro");
      return n;
    }
    if (name == "call") {
      auto n = node(NodeKind::CallBlock, open);
      if (is(T::OpenParen)) n->args = arguments(true);
      if (!is(T::Identifier)) fail("expected a macro name after 'call', found " + describe(cur_));
      auto call = node(NodeKind::Call, cur_);
      call->a = primary();
      call->args = arguments(false);
      n->a = std::move(call);
      expect(T::CloseStatement, "'%}'");
      n->body = block_until({"endcall"}, open, "call");
      end_tag("endcall");
      return n;
    }
    if (name == "filter") {
      auto n = node(NodeKind::FilterBlock, open);
      if (!is(T::Identifier)) fail("expected a filter name, found " + describe(cur_));
      auto f = primary();
      n->a = is(T::OpenParen) ? call(std::move(f)) : std::move(f);
      expect(T::CloseStatement, "'%}'");
      n->body = block_until({"endfilter"}, open, "filter");
      end_tag("endfilter");
      return n;
    }
    if (name == "break" || name == "continue") {
      auto n = node(name == "break" ? NodeKind::Break : NodeKind::Continue, open);
      expect(T::CloseStatement, "'%}'");
      return n;
    }
    fail_at("unsupported statement '{% " + name + " %}'", open + 1);
  }

  NodePtr set_statement(size_t open) {
    auto n = node(NodeKind::Set, open);
    n->a = sequence(false);
    if (is(T::Equals)) {
      ++cur_;
      n->b = sequence(false);
    } else {
      expect(T::CloseStatement, "'=' or '%}'");
      n->body = block_until({"endset"}, open, "set");
      expect(T::OpenStatement, "'{%'");
      expect_ident("endset");
    }
    expect(T::CloseStatement, "'%}'");
    return n;
  }

  NodePtr if_statement(size_t open) {
    Depth guard(*this);
    auto n = node(NodeKind::If, open);
    n->a = expression();
    expect(T::CloseStatement, "'%}'");
    n->body = block_until({"elif", "else", "endif"}, open, "if");
    if (is_statement({"elif"})) {
      const size_t at = cur_;
      cur_ += 2;
      n->alt.push_back(if_statement(at));
    } else if (is_statement({"else"})) {
      cur_ += 2;
      expect(T::CloseStatement, "'%}'");
      n->alt = block_until({"endif"}, open, "if");
    }
    return n;
  }

  NodePtr for_statement(size_t open) {
    auto n = node(NodeKind::For, open);
    n->a = sequence(true);
    if (n->a->kind != NodeKind::Identifier && n->a->kind != NodeKind::Tuple)
      fail("expected a loop variable name or tuple after 'for'");
    if (!is_ident("in")) fail("expected 'in' after the loop variable, found " + describe(cur_));
    ++cur_;
    n->b = expression();
    expect(T::CloseStatement, "'%}'");
    n->body = block_until({"endfor", "else"}, open, "for");
    if (is_statement({"else"})) {
      cur_ += 2;
      expect(T::CloseStatement, "'%}'");
      n->alt = block_until({"endfor"}, open, "for");
    }
    return n;
  }

  // a, b, c -> Tuple; a single item stays itself.
  NodePtr sequence(bool primary_only) {
    const size_t at = cur_;
    auto first = primary_only ? primary() : expression();
    if (!is(T::Comma)) return first;
    auto tuple = node(NodeKind::Tuple, at);
    tuple->args.push_back(std::move(first));
    while (is(T::Comma)) {
      ++cur_;
      tuple->args.push_back(primary_only ? primary() : expression());
    }
    return tuple;
  }

  NodePtr expression() {
    Depth guard(*this);
    return if_expression();
  }

  NodePtr if_expression() {
    auto a = or_expression();
    if (!is_ident("if")) return a;
    const size_t at = cur_++;
    auto test = or_expression();
    if (is_ident("else")) {
      ++cur_;
      auto n = node(NodeKind::Ternary, at);
      n->a = std::move(test);
      n->b = std::move(a);
      n->c = if_expression();
      return n;
    }
    auto n = node(NodeKind::Select, at);
    n->a = std::move(a);
    n->b = std::move(test);
    return n;
  }

  NodePtr binary(const std::string& op, size_t at, NodePtr l, NodePtr r) {
    auto n = node(NodeKind::Binary, at);
    n->str = op;
    n->a = std::move(l);
    n->b = std::move(r);
    return n;
  }

  NodePtr or_expression() {
    auto left = and_expression();
    while (is_ident("or")) {
      const size_t at = cur_++;
      left = binary("or", at, std::move(left), and_expression());
    }
    return left;
  }

  NodePtr and_expression() {
    auto left = not_expression();
    while (is_ident("and")) {
      const size_t at = cur_++;
      left = binary("and", at, std::move(left), not_expression());
    }
    return left;
  }

  NodePtr not_expression() {
    if (!is_ident("not")) return comparison();
    Depth guard(*this);
    auto n = node(NodeKind::Unary, cur_++);
    n->str = "not";
    n->a = not_expression();
    return n;
  }

  NodePtr comparison() {
    auto left = additive();
    while (true) {
      std::string op;
      const size_t at = cur_;
      if (is_ident("not") && is_ident("in", 1)) {
        op = "not in";
        cur_ += 2;
      } else if (is_ident("in")) {
        op = "in";
        ++cur_;
      } else if (is(T::ComparisonBinaryOperator)) {
        op = t_[cur_++].value;
      } else {
        return left;
      }
      left = binary(op, at, std::move(left), additive());
    }
  }

  NodePtr additive() {
    auto left = multiplicative();
    while (is(T::AdditiveBinaryOperator)) {
      const size_t at = cur_;
      const std::string op = t_[cur_++].value;
      left = binary(op, at, std::move(left), multiplicative());
    }
    return left;
  }

  NodePtr multiplicative() {
    auto left = power();
    while (is(T::MultiplicativeBinaryOperator)) {
      const size_t at = cur_;
      const std::string op = t_[cur_++].value;
      left = binary(op, at, std::move(left), power());
    }
    return left;
  }

  NodePtr power() {
    auto left = test_expression();
    while (is(T::ExponentiationBinaryOperator)) {
      const size_t at = cur_++;
      left = binary("**", at, std::move(left), test_expression());
    }
    return left;
  }

  NodePtr test_expression() {
    auto operand = filter_expression();
    while (is_ident("is")) {
      auto n = node(NodeKind::Test, cur_++);
      if (is_ident("not")) {
        n->flag = true;
        ++cur_;
      }
      if (!is(T::Identifier)) fail("expected a test name after 'is', found " + describe(cur_));
      n->str = t_[cur_++].value;
      if (is(T::OpenParen)) fail("tests with arguments ('is " + n->str + "(...)') are not supported");
      n->a = std::move(operand);
      operand = std::move(n);
    }
    return operand;
  }

  NodePtr filter_expression() {
    auto operand = unary_sign();
    while (is(T::Pipe)) {
      auto n = node(NodeKind::Filter, cur_++);
      if (!is(T::Identifier)) fail("expected a filter name after '|', found " + describe(cur_));
      auto f = primary();
      n->b = is(T::OpenParen) ? call(std::move(f)) : std::move(f);
      n->a = std::move(operand);
      operand = std::move(n);
    }
    return operand;
  }

  NodePtr unary_sign() {
    if ((is(T::UnaryOperator) || is(T::AdditiveBinaryOperator)) && (t_[cur_].value == "-" || t_[cur_].value == "+")) {
      Depth guard(*this);
      auto n = node(NodeKind::Unary, cur_);
      n->str = t_[cur_++].value;
      n->a = unary_sign();
      return n;
    }
    auto m = member(primary());
    return is(T::OpenParen) ? call(std::move(m)) : std::move(m);
  }

  NodePtr call(NodePtr callee) {
    Depth guard(*this);
    auto n = node(NodeKind::Call, cur_);
    n->a = std::move(callee);
    n->args = arguments(false);
    NodePtr e = member(std::move(n));
    return is(T::OpenParen) ? call(std::move(e)) : std::move(e);
  }

  // "(a, b=1, *c, **d)"; parameters=true for macro definitions (names with optional defaults).
  std::vector<NodePtr> arguments(bool parameters) {
    expect(T::OpenParen, "'('");
    std::vector<NodePtr> args;
    std::set<std::string> names;
    bool saw_keyword = false, saw_spread = false;
    while (!is(T::CloseParen)) {
      if (cur_ >= t_.size()) fail("expected ')' to close the argument list");
      const size_t at = cur_;
      const bool kw_spread = is(T::ExponentiationBinaryOperator);
      const bool spread = is(T::MultiplicativeBinaryOperator) && t_[cur_].value == "*";
      if (parameters && (kw_spread || spread)) fail("argument unpacking is not allowed in parameter declarations");
      if (kw_spread) {
        ++cur_;
        auto n = node(NodeKind::KwSpread, at);
        n->a = expression();
        args.push_back(std::move(n));
        if (is(T::Comma)) ++cur_;
        if (!is(T::CloseParen)) fail("'**' must be applied to the last argument");
        break;
      }
      NodePtr arg;
      if (spread) {
        if (saw_spread) fail("only one '*' argument unpacking is allowed");
        saw_spread = true;
        ++cur_;
        arg = node(NodeKind::Spread, at);
        arg->a = expression();
      } else {
        arg = expression();
        if (is(T::Equals)) {
          ++cur_;
          if (arg->kind != NodeKind::Identifier) fail_at("expected a name before '=' in the argument list", at);
          auto kw = node(NodeKind::KeywordArg, at);
          kw->str = arg->str;
          kw->a = expression();
          arg = std::move(kw);
        }
        if (parameters) {
          if (arg->kind != NodeKind::Identifier && arg->kind != NodeKind::KeywordArg)
            fail_at("expected a parameter name", at);
          if (!names.insert(arg->str).second) fail_at("duplicate parameter name '" + arg->str + "'", at);
        }
        if (arg->kind == NodeKind::KeywordArg) {
          saw_keyword = true;
        } else if (saw_keyword) {
          fail_at(parameters ? "non-default parameter follows a default parameter"
                             : "positional argument follows a keyword argument", at);
        } else if (saw_spread) {
          fail_at("positional argument follows '*' unpacking", at);
        }
      }
      args.push_back(std::move(arg));
      if (is(T::Comma)) ++cur_;
    }
    expect(T::CloseParen, "')'");
    return args;
  }

  NodePtr subscript() {
    const size_t at = cur_;
    std::vector<NodePtr> parts;
    bool slice = false;
    while (!is(T::CloseSquareBracket)) {
      if (cur_ >= t_.size()) fail("expected ']'");
      if (is(T::Colon)) {
        parts.push_back(nullptr);
        ++cur_;
        slice = true;
      } else {
        parts.push_back(expression());
        if (is(T::Colon)) {
          ++cur_;
          slice = true;
        }
      }
    }
    if (parts.empty()) fail("expected an index or slice inside '[]'");
    if (!slice) return std::move(parts[0]);
    if (parts.size() > 3) fail_at("a slice takes at most 3 parts", at);
    auto n = node(NodeKind::Slice, at);
    parts.resize(3);
    n->a = std::move(parts[0]);
    n->b = std::move(parts[1]);
    n->c = std::move(parts[2]);
    return n;
  }

  NodePtr member(NodePtr object) {
    while (is(T::Dot) || is(T::OpenSquareBracket)) {
      auto n = node(NodeKind::Member, cur_);
      n->flag = is(T::OpenSquareBracket);
      ++cur_;
      if (n->flag) {
        n->b = subscript();
        expect(T::CloseSquareBracket, "']'");
      } else {
        n->b = primary();
        if (n->b->kind != NodeKind::Identifier && n->b->kind != NodeKind::Integer)
          fail("expected a name or an integer after '.'");
      }
      n->a = std::move(object);
      object = std::move(n);
    }
    return object;
  }

  NodePtr primary() {
    Depth guard(*this);
    if (cur_ >= t_.size()) fail("unexpected end of template in an expression");
    const size_t at = cur_;
    const Token& tok = t_[cur_++];
    switch (tok.type) {
      case T::NumericLiteral: {
        if (tok.value.find('.') != std::string::npos) {
          auto n = node(NodeKind::Float, at);
          n->fval = std::strtod(tok.value.c_str(), nullptr);
          return n;
        }
        auto n = node(NodeKind::Integer, at);
        errno = 0;
        n->ival = std::strtoll(tok.value.c_str(), nullptr, 10);
        if (errno == ERANGE) fail_at("integer literal out of range", at);
        return n;
      }
      case T::StringLiteral: {
        auto n = node(NodeKind::String, at);
        n->str = tok.value;
        while (is(T::StringLiteral)) n->str += t_[cur_++].value;  // 'a' 'b' -> 'ab'
        return n;
      }
      case T::Identifier: {
        auto n = node(NodeKind::Identifier, at);
        n->str = tok.value;
        return n;
      }
      case T::OpenParen: {
        auto e = sequence(false);
        expect(T::CloseParen, "')'");
        return e;
      }
      case T::OpenSquareBracket: {
        auto n = node(NodeKind::Array, at);
        while (!is(T::CloseSquareBracket)) {
          if (cur_ >= t_.size()) fail_at("'[' is not closed", at);
          n->args.push_back(expression());
          if (is(T::Comma)) ++cur_;
        }
        ++cur_;
        return n;
      }
      case T::OpenCurlyBracket: {
        auto n = node(NodeKind::Object, at);
        while (!is(T::CloseCurlyBracket)) {
          if (cur_ >= t_.size()) fail_at("'{' is not closed", at);
          auto key = expression();
          expect(T::Colon, "':' between key and value");
          n->pairs.emplace_back(std::move(key), expression());
          if (is(T::Comma)) ++cur_;
        }
        ++cur_;
        return n;
      }
      default: fail_at("unexpected " + describe(at) + " in an expression", at);
    }
  }

  const std::vector<Token>& t_;
  std::string_view src_;
  int max_depth_;
  int depth_ = 0;
  size_t cur_ = 0;
};

}  // namespace

NodePtr parse(const std::vector<Token>& tokens, std::string_view source, int max_depth) {
  return Parser(tokens, source, max_depth).program();
}

}  // namespace citadel::jinja
