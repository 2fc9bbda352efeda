#include "tokenizer/jinja_template.h"

#include "tokenizer/jinja_lexer.h"
#include "tokenizer/jinja_parser.h"

namespace citadel::jinja {

Template::Template(std::string source) : source_(std::move(source)) {
  program_ = parse(tokenize(source_), source_);
}

std::string Template::render(const std::vector<std::pair<std::string, Value>>& variables,
                             const RenderOptions& options) const {
  return jinja::render(*program_, source_, variables, options);
}

std::string Template::render(const nlohmann::ordered_json& variables, const RenderOptions& options) const {
  if (!variables.is_object()) throw RenderError("template variables must be a JSON object");
  std::vector<std::pair<std::string, Value>> vars;
  for (auto it = variables.begin(); it != variables.end(); ++it) vars.emplace_back(it.key(), from_json(it.value()));
  return render(vars, options);
}

}  // namespace citadel::jinja
