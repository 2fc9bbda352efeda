// citadel chat-template: renders a model's chat template for a conversation and prints the
// prompt exactly (no newline added), for users debugging a template.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"
#include "tools/tool.h"
#include "tools/tool_support.h"

namespace {

using ojson = nlohmann::ordered_json;

ojson read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    return ojson::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("'" + path + "' is not valid JSON: " + e.what());
  }
}

int run_chat_template(int argc, char** argv) {
  CLI::App app{"Render a chat template for a conversation and print the prompt exactly.\n"
               "TEMPLATE is a .jinja file, a tokenizer_config.json or a GGUF model. MESSAGES is a JSON list of\n"
               "messages, or an object {\"messages\": [...], \"tools\": [...], other variables...}.",
               argv[0]};
  std::string template_path, messages_path, tools_path, name = "default";
  std::string bos, eos;
  std::vector<std::string> vars;
  bool no_generation_prompt = false;
  app.add_option("--template", template_path, "F.jinja | tokenizer_config.json | model.gguf")->required();
  app.add_option("--messages", messages_path, "conversation JSON")->required();
  app.add_option("--tools", tools_path, "tool definitions JSON (a list); overrides \"tools\" of --messages");
  auto* bos_opt = app.add_option("--bos-token", bos, "bos_token (default: from the model files, else empty)");
  auto* eos_opt = app.add_option("--eos-token", eos, "eos_token (default: from the model files, else empty)");
  app.add_option("--var", vars, "NAME=VALUE template variable; VALUE is parsed as JSON when it is JSON, else a string")
      ->take_all();
  app.add_option("--name", name, "which named template of a tokenizer_config.json (default: \"default\")");
  app.add_flag("--no-generation-prompt", no_generation_prompt, "add_generation_prompt = false");
  citadel::add_model_key_option(app);
  CLI11_PARSE(app, argc, argv);

  citadel::ChatTemplateSource src = citadel::load_chat_template(template_path, name);
  if (*bos_opt) src.bos_token = bos;
  if (*eos_opt) src.eos_token = eos;

  ojson input = read_json(messages_path);
  ojson messages, tools = nullptr, extra = ojson::object();
  if (input.is_array()) {
    messages = std::move(input);
  } else if (input.is_object() && input.contains("messages")) {
    for (auto it = input.begin(); it != input.end(); ++it) {
      if (it.key() == "messages") messages = it.value();
      else if (it.key() == "tools") tools = it.value();
      else extra[it.key()] = it.value();
    }
  } else {
    throw std::runtime_error("'" + messages_path + "' must hold a list of messages or an object with \"messages\"");
  }
  if (!tools_path.empty()) tools = read_json(tools_path);
  for (const std::string& v : vars) {
    const size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0) throw std::runtime_error("--var expects NAME=VALUE, got '" + v + "'");
    const std::string value = v.substr(eq + 1);
    ojson parsed = ojson::parse(value, nullptr, false);
    extra[v.substr(0, eq)] = parsed.is_discarded() ? ojson(value) : parsed;
  }

  citadel::ChatTemplate tmpl(src);
  const std::string prompt = tmpl.render(messages, !no_generation_prompt, tools, extra);
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  std::fflush(stdout);
  return 0;
}

const citadel::ToolRegistration reg{"chat-template", "render a chat template for a conversation (prompt debugging)",
                                    run_chat_template};

}  // namespace
