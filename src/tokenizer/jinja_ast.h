// The syntax tree of a Jinja template: one node type with a kind, as in the reference's AST.
// Which fields a kind uses:
//   Program            body
//   Text               str (output verbatim)
//   Comment            -
//   If                 a = test, body, alt (else branch; an elif is a nested If there)
//   For                a = loop variable (Identifier | Tuple), b = iterable (a Select filters),
//                      body, alt (else block)
//   Break, Continue    -
//   Set                a = target (Identifier | Tuple | Member), b = value or null -> body
//   Macro              str = name, args (Identifier | KeywordArg with default), body
//   CallBlock          a = Call expression, args = caller parameters, body
//   FilterBlock        a = filter (Identifier | Call), body
//   Identifier         str
//   Integer / Float    ival / fval
//   String             str
//   Array / Tuple      args = items
//   Object             pairs
//   Member             a = object, b = property (Slice when sliced), flag = computed ([...])
//   Call               a = callee, args (positional, KeywordArg, Spread, KeywordSpread)
//   Binary             str = operator, a, b
//   Unary              str = operator ("not", "-", "+"), a
//   Filter             a = operand, b = filter (Identifier | Call)
//   Test               a = operand, str = test name, flag = negated
//   Select             a = value, b = condition ("x if c" without else)
//   Ternary            a = condition, b = if true, c = if false
//   Slice              a, b, c = start, stop, step (each may be null)
//   KeywordArg         str = name, a = value
//   Spread, KwSpread   a = value (*x, **x)
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace citadel::jinja {

enum class NodeKind {
  Program, Text, Comment, If, For, Break, Continue, Set, Macro, CallBlock, FilterBlock,
  Identifier, Integer, Float, String, Array, Tuple, Object, Member, Call, Binary, Unary, Filter,
  Test, Select, Ternary, Slice, KeywordArg, Spread, KwSpread,
};

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct Node {
  NodeKind kind;
  size_t pos = 0;  // byte offset in the original source
  std::string str;
  int64_t ival = 0;
  double fval = 0;
  bool flag = false;
  NodePtr a, b, c;
  std::vector<NodePtr> args, body, alt;
  std::vector<std::pair<NodePtr, NodePtr>> pairs;

  Node(NodeKind k, size_t p) : kind(k), pos(p) {}
};

}  // namespace citadel::jinja
