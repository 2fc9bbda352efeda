// Errors of the Jinja interpreter. Every error names where in the template it happened
// (1-based line and column of the original source, 0 when unknown).
#pragma once
#include <stdexcept>
#include <string>

namespace citadel::jinja {

class TemplateError : public std::runtime_error {
 public:
  TemplateError(const std::string& what, int line = 0, int column = 0)
      : std::runtime_error(line > 0 ? what + " (line " + std::to_string(line) + ", column " +
                                          std::to_string(column) + ")"
                                    : what),
        line_(line), column_(column) {}
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int line_, column_;
};

// The template does not lex or parse, or uses a construct this interpreter does not support.
class SyntaxError : public TemplateError {
 public:
  using TemplateError::TemplateError;
};

// Evaluation failed: a type error, an unknown filter or test, a resource limit...
class RenderError : public TemplateError {
 public:
  using TemplateError::TemplateError;
};

// The template called raise_exception(message): the input is unacceptable to the template
// (a server answers 400 with message()).
class RaisedException : public TemplateError {
 public:
  explicit RaisedException(std::string message)
      : TemplateError("template raised: " + message), message_(std::move(message)) {}
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

}  // namespace citadel::jinja
