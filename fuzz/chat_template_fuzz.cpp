// libFuzzer target: the Jinja chat-template engine. The input is a template source, optionally
// followed by a NUL and a JSON messages array; it is parsed and rendered under the default
// resource limits. Anything wrong must end in a jinja::TemplateError (syntax, render, raised) or a
// JSON error for the messages, never a crash, hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"
#include "tokenizer/jinja_error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string source = input.substr(0, nul);
  nlohmann::ordered_json messages = nlohmann::ordered_json::array(
      {{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Hi <b>&"}},
       {{"role", "assistant"}, {"content", "Hello."}}, {{"role", "user"}, {"content", "Again"}}});
  if (nul != std::string::npos) {
    messages = nlohmann::ordered_json::parse(input.substr(nul + 1), nullptr, false);
    if (messages.is_discarded()) return 0;
  }
  try {
    citadel::ChatTemplate t(source, "<s>", "</s>");
    t.set_clock([] { return std::time_t(1700000000); });
    (void)t.render(messages, true);
  } catch (const citadel::jinja::TemplateError&) {
  } catch (const nlohmann::json::exception&) {
  }
  return 0;
}
