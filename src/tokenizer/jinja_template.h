// A compiled Jinja template: parsed once, rendered many times (each render is independent and
// const, so one Template may serve concurrent requests). Semantics follow the reference renderer
// of transformers.js, @huggingface/jinja, with trim_blocks and lstrip_blocks on.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_error.h"
#include "tokenizer/jinja_interpreter.h"
#include "tokenizer/jinja_value.h"

namespace citadel::jinja {

class Template {
 public:
  // Throws SyntaxError (with line and column) for malformed or unsupported templates.
  explicit Template(std::string source);

  // Variables come from a JSON object (key order kept) or as values.
  std::string render(const nlohmann::ordered_json& variables, const RenderOptions& options = {}) const;
  std::string render(const std::vector<std::pair<std::string, Value>>& variables,
                     const RenderOptions& options = {}) const;

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::shared_ptr<const Node> program_;
};

}  // namespace citadel::jinja
