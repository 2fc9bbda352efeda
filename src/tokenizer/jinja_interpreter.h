// Evaluates a parsed template against variables, with the reference's (@huggingface/jinja)
// scoping: a for loop opens one scope for all its iterations, `set` writes the innermost scope,
// namespaces are the way out of a loop, and a macro body sees its caller's variables.
#pragma once
#include <ctime>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_limits.h"
#include "tokenizer/jinja_value.h"

namespace citadel::jinja {

struct RenderOptions {
  Limits limits;
  std::function<std::time_t()> now;  // strftime_now's clock; the system clock when empty
};

// `source` is the template text the node positions refer to (for error locations). Variables are
// declared in the global scope next to the built-ins; redeclaring a built-in is an error, as in
// the reference. Throws RenderError (with line/column) or RaisedException.
std::string render(const Node& program, std::string_view source,
                   const std::vector<std::pair<std::string, Value>>& variables, const RenderOptions& options = {});

}  // namespace citadel::jinja
