// Jinja lexer with the reference's (@huggingface/jinja) rules: the template is first preprocessed
// like transformers does it (one trailing newline dropped, lstrip_blocks and trim_blocks on,
// {% generation %} tags removed), then cut into text, tag delimiters and expression tokens.
// Whitespace control (-) trims JS whitespace next to a tag.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::jinja {

enum class TokenType {
  Text, NumericLiteral, StringLiteral, Identifier, Equals, OpenParen, CloseParen,
  OpenStatement, CloseStatement, OpenExpression, CloseExpression, OpenSquareBracket,
  CloseSquareBracket, OpenCurlyBracket, CloseCurlyBracket, Comma, Dot, Colon, Pipe,
  AdditiveBinaryOperator, MultiplicativeBinaryOperator, ExponentiationBinaryOperator,
  ComparisonBinaryOperator, UnaryOperator, Comment,
};
const char* token_type_name(TokenType t);

struct Token {
  TokenType type;
  std::string value;  // string literals unescaped; text as it will be output
  size_t pos;         // byte offset in the original source
};

struct SourceLocation {
  int line = 0, column = 0;  // 1-based; column counts code points
};
SourceLocation locate(std::string_view source, size_t pos);

// Throws SyntaxError naming the line and column of an unexpected character or an unterminated
// string / comment.
std::vector<Token> tokenize(std::string_view source);

}  // namespace citadel::jinja
