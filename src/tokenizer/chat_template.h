// A model's chat template: turns a conversation (OpenAI-style messages, optional tools) into the
// prompt text, rendered by our Jinja interpreter exactly as transformers.js (@huggingface/jinja)
// renders it. Variables seen by the template, as in transformers: messages, add_generation_prompt,
// tools (none when absent), bos_token, eos_token, then any extra variables (e.g. enable_thinking).
//
// Errors: jinja::SyntaxError (bad or unsupported template, with line/column) at construction;
// jinja::RenderError (type errors, limits) and jinja::RaisedException (the template's own
// raise_exception(msg): the request is unacceptable, answer 400 with message()) from render().
#pragma once
#include <ctime>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/jinja_error.h"
#include "tokenizer/jinja_limits.h"

namespace citadel {

class GgufFile;
namespace jinja {
class Template;
}

using ChatTemplateError = jinja::TemplateError;          // base of all three
using ChatTemplateRaised = jinja::RaisedException;       // raise_exception(msg) from the template

// A template's text and the special tokens it refers to, as found in a model's files.
struct ChatTemplateSource {
  std::string source;
  std::string bos_token;
  std::string eos_token;
};

// `chat_template` of a tokenizer_config.json: a string, or a list of {"name", "template"} from
// which `name` is taken. bos_token / eos_token may be strings or {"content": ...} objects.
// Throws std::runtime_error when there is no such template.
ChatTemplateSource chat_template_from_config(const nlohmann::ordered_json& config, const std::string& name = "default");
// tokenizer.chat_template of an open GGUF, with BOS/EOS from its vocabulary (tokenizer.ggml.*).
// Throws std::runtime_error when the file has no template.
ChatTemplateSource chat_template_from_gguf(const GgufFile& gguf);
// The template a model is served and fine-tuned with: its own, else ChatML (as llama.cpp falls
// back to), with BOS/EOS from its vocabulary. `fallback`, when given, tells which.
ChatTemplateSource model_chat_template(const GgufFile& gguf, bool* fallback = nullptr);
// Loads from a GGUF file (tokenizer.chat_template; BOS/EOS from the vocabulary), a
// tokenizer_config.json, or else a plain template file (.jinja).
ChatTemplateSource load_chat_template(const std::string& path, const std::string& name = "default");

class ChatTemplate {
 public:
  // Throws jinja::SyntaxError.
  ChatTemplate(std::string source, std::string bos_token = "", std::string eos_token = "");
  explicit ChatTemplate(const ChatTemplateSource& src) : ChatTemplate(src.source, src.bos_token, src.eos_token) {}
  static ChatTemplate from_file(const std::string& path) { return ChatTemplate(load_chat_template(path)); }
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // messages: a JSON array of {"role", "content", ...}; tools: a JSON array or null; extra: an
  // object of further variables. Thread-safe (const). Use ordered_json so key order is kept
  // (tojson prints keys in input order, like the reference).
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt = true,
                     const nlohmann::ordered_json& tools = nullptr,
                     const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;

  const std::string& source() const;
  const std::string& bos_token() const { return bos_; }
  const std::string& eos_token() const { return eos_; }

  // Resource limits per render, and the clock of strftime_now (tests pin it).
  void set_limits(const jinja::Limits& limits) { limits_ = limits; }
  void set_clock(std::function<std::time_t()> now) { now_ = std::move(now); }

 private:
  std::unique_ptr<jinja::Template> template_;
  std::string bos_, eos_;
  jinja::Limits limits_;
  std::function<std::time_t()> now_;
};

}  // namespace citadel
