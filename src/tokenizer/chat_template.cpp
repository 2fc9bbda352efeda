#include "tokenizer/chat_template.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/encrypted_model.h"
#include "core/gguf.h"
#include "tokenizer/jinja_template.h"

namespace citadel {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A special token in tokenizer_config.json: "text", {"content": "text", ...} or null.
std::string token_text(const nlohmann::ordered_json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  throw std::runtime_error(std::string("tokenizer config: '") + key + "' is neither a string nor {\"content\": ...}");
}

std::string vocab_token(const GgufFile& gguf, const char* id_key) {
  const GgufValue* id = gguf.find(id_key);
  const GgufValue* tokens = gguf.find("tokenizer.ggml.tokens");
  if (!id || !id->is_integer() || !tokens || !tokens->is_array()) return "";
  const auto& list = tokens->as_strings();
  const int64_t i = id->as_int();
  return i >= 0 && static_cast<size_t>(i) < list.size() ? list[i] : "";
}

}  // namespace

ChatTemplateSource chat_template_from_config(const nlohmann::ordered_json& config, const std::string& name) {
  ChatTemplateSource out;
  auto it = config.find("chat_template");
  if (it == config.end() || it->is_null()) throw std::runtime_error("tokenizer config has no chat_template");
  if (it->is_string()) {
    out.source = it->get<std::string>();
  } else if (it->is_array()) {
    std::string names;
    for (const auto& entry : *it) {
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template")) continue;
      const std::string n = entry["name"].get<std::string>();
      if (n == name) out.source = entry["template"].get<std::string>();
      names += (names.empty() ? "" : ", ") + n;
    }
    if (out.source.empty()) throw std::runtime_error("tokenizer config has no chat template named '" + name + "' (has: " + names + ")");
  } else {
    throw std::runtime_error("tokenizer config: chat_template must be a string or a list of named templates");
  }
  out.bos_token = token_text(config, "bos_token");
  out.eos_token = token_text(config, "eos_token");
  return out;
}

ChatTemplateSource chat_template_from_gguf(const GgufFile& gguf) {
  ChatTemplateSource out;
  out.source = gguf.get_string("tokenizer.chat_template");
  if (out.source.empty()) throw std::runtime_error("'" + gguf.path() + "' has no tokenizer.chat_template");
  out.bos_token = vocab_token(gguf, "tokenizer.ggml.bos_token_id");
  out.eos_token = vocab_token(gguf, "tokenizer.ggml.eos_token_id");
  return out;
}

ChatTemplateSource model_chat_template(const GgufFile& gguf, bool* fallback) {
  static constexpr const char* kChatMl =
      "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
      "'\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  ChatTemplateSource out;
  out.source = gguf.get_string("tokenizer.chat_template", "");
  if (fallback) *fallback = out.source.empty();
  if (out.source.empty()) out.source = kChatMl;
  out.bos_token = vocab_token(gguf, "tokenizer.ggml.bos_token_id");
  out.eos_token = vocab_token(gguf, "tokenizer.ggml.eos_token_id");
  return out;
}

ChatTemplateSource load_chat_template(const std::string& path, const std::string& name) {
  std::string head;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open '" + path + "'");
    head.resize(4);
    in.read(head.data(), 4);
    head.resize(static_cast<size_t>(in.gcount()));
  }
  if (head == "GGUF" || is_encrypted_model_file(path)) return chat_template_from_gguf(*GgufFile::open(path));
  std::string text = read_all(path);
  const bool json_name = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  if (json_name) {
    nlohmann::ordered_json config;
    try {
      config = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error("'" + path + "': " + e.what());
    }
    if (!config.is_object()) throw std::runtime_error("'" + path + "' is not a tokenizer config object");
    return chat_template_from_config(config, name);
  }
  return ChatTemplateSource{std::move(text), "", ""};
}

ChatTemplate::ChatTemplate(std::string source, std::string bos_token, std::string eos_token)
    : template_(std::make_unique<jinja::Template>(std::move(source))), bos_(std::move(bos_token)),
      eos_(std::move(eos_token)) {}
ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

const std::string& ChatTemplate::source() const { return template_->source(); }

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& tools, const nlohmann::ordered_json& extra) const {
  if (!messages.is_array()) throw jinja::RenderError("messages must be a JSON array");
  if (!extra.is_object() && !extra.is_null()) throw jinja::RenderError("extra template variables must be a JSON object");
  nlohmann::ordered_json vars = nlohmann::ordered_json::object();
  vars["messages"] = messages;
  vars["add_generation_prompt"] = add_generation_prompt;
  vars["tools"] = tools;
  vars["bos_token"] = bos_;
  vars["eos_token"] = eos_;
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) vars[it.key()] = it.value();
  jinja::RenderOptions options;
  options.limits = limits_;
  options.now = now_;
  return template_->render(vars, options);
}

}  // namespace citadel
