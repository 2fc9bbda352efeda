// Parser from tokens to the syntax tree, following the reference's grammar and precedence:
// ternary < or < and < not < comparisons/in < + - ~ < * / // % < ** < is < | < unary sign
// < call/member < primary. Statements: set (incl. block set), if/elif/else, for/else with an
// inline filter, macro, call blocks, filter blocks, break, continue.
#pragma once
#include <string_view>
#include <vector>

#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_lexer.h"

namespace citadel::jinja {

// Throws SyntaxError naming the unsupported or malformed construct with its line and column.
// Nesting deeper than max_depth (parentheses, blocks) is rejected rather than recursed into.
NodePtr parse(const std::vector<Token>& tokens, std::string_view source, int max_depth = 200);

}  // namespace citadel::jinja
