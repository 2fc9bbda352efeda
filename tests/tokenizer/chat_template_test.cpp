// ChatTemplate: loading from tokenizer_config.json / GGUF / .jinja, the variables a template sees,
// and renders of the real templates in ../shared/tokenizers (expected strings from the reference).
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>

#include "core/gguf_writer.h"
#include "test_paths.h"
#include "tokenizer/chat_template.h"

namespace citadel {
namespace {

using ojson = nlohmann::ordered_json;

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "citadel_chat_template_" + name;
}

const ojson kConversation = ojson::parse(R"([
  {"role": "system", "content": "You are helpful."},
  {"role": "user", "content": "Hello!"},
  {"role": "assistant", "content": "Hi there."},
  {"role": "user", "content": "How are you?"}
])");

TEST(ChatTemplate, VariablesSeenByTheTemplate) {
  ChatTemplate t("{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ tools is none }}|{{ messages | length }}|{{ extra }}", "<s>", "</s>");
  EXPECT_EQ(t.render(kConversation, true, nullptr, {{"extra", 5}}), "<s>|</s>|true|true|4|5");
  EXPECT_EQ(t.render(ojson::array(), false, ojson::array(), {{"extra", "x"}}), "<s>|</s>|false|false|0|x");
  EXPECT_THROW(t.render(ojson::object(), true), ChatTemplateError);  // messages must be a list
}

TEST(ChatTemplate, RaiseExceptionIsDistinct) {
  ChatTemplate t("{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}");
  try {
    t.render(kConversation);
    FAIL() << "no exception";
  } catch (const ChatTemplateRaised& e) {
    EXPECT_EQ(e.message(), "System role not supported");
  }
  EXPECT_THROW(ChatTemplate("{% if %}"), jinja::SyntaxError);
}

TEST(ChatTemplate, FromTokenizerConfig) {
  const ojson config = ojson::parse(R"({
    "bos_token": {"content": "<B>", "lstrip": false},
    "eos_token": "<E>",
    "chat_template": [
      {"name": "default", "template": "{{ bos_token }}D{{ eos_token }}"},
      {"name": "tool_use", "template": "T"}
    ]
  })");
  const ChatTemplateSource d = chat_template_from_config(config);
  EXPECT_EQ(ChatTemplate(d).render(kConversation), "<B>D<E>");
  EXPECT_EQ(chat_template_from_config(config, "tool_use").source, "T");
  EXPECT_THROW(chat_template_from_config(config, "rag"), std::runtime_error);
  EXPECT_THROW(chat_template_from_config(ojson::parse(R"({"bos_token": "x"})")), std::runtime_error);
}

TEST(ChatTemplate, FromGgufAndJinjaFiles) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("tokenizer.chat_template", "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}{{ eos_token }}");
  w.set_strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a"});
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  const std::string gguf = temp_path("model.gguf");
  w.write(gguf);
  const ChatTemplate from_gguf = ChatTemplate::from_file(gguf);
  EXPECT_EQ(from_gguf.render(kConversation), "<s>You are helpful.Hello!Hi there.How are you?</s>");

  const std::string jinja = temp_path("t.jinja");
  std::ofstream(jinja) << "{{ messages[0].content }}\n";
  EXPECT_EQ(ChatTemplate::from_file(jinja).render(kConversation), "You are helpful.");
  std::remove(gguf.c_str());
  std::remove(jinja.c_str());
  EXPECT_THROW(load_chat_template(temp_path("absent.jinja")), std::runtime_error);
}

TEST(ChatTemplate, Qwen3ConfigWithToolsAndThinking) {
  const std::string path = test::shared_dir() + "/tokenizers/qwen3/tokenizer_config.json";
  REQUIRE_FILE(path);
  ChatTemplate t = ChatTemplate::from_file(path);
  EXPECT_EQ(t.eos_token(), "<|im_end|>");
  const ojson messages = ojson::parse(R"([
    {"role": "user", "content": "2+2?"},
    {"role": "assistant", "content": "<think>\nAdd.\n</think>\n\n4"},
    {"role": "user", "content": "Weather?"},
    {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "w", "arguments": {"city": "Paris"}}}]},
    {"role": "tool", "content": "sunny"}
  ])");
  const ojson tools = ojson::parse(R"([{"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}])");
  const std::string expected =
      "<|im_start|>system\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
      "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
      "{\"type\": \"function\", \"function\": {\"name\": \"w\", \"parameters\": {\"type\": \"object\"}}}\n</tools>\n\n"
      "For each function call, return a json object with function name and arguments within <tool_call></tool_call> "
      "XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n"
      "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
      "<|im_start|>user\nWeather?<|im_end|>\n"
      "<|im_start|>assistant\n<tool_call>\n{\"name\": \"w\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"
      "<|im_start|>user\n<tool_response>\nsunny\n</tool_response><|im_end|>\n"
      "<|im_start|>assistant\n<think>\n\n</think>\n\n";
  EXPECT_EQ(t.render(messages, true, tools, {{"enable_thinking", false}}), expected);
}

TEST(ChatTemplate, Llama32DateFromTheClock) {
  const std::string path = test::shared_dir() + "/tokenizers/templates/meta-llama-Llama-3.2-3B-Instruct.jinja";
  REQUIRE_FILE(path);
  ChatTemplate t = ChatTemplate::from_file(path);
  t.set_clock([] {
    std::tm tm{};
    tm.tm_year = 125;
    tm.tm_mon = 0;
    tm.tm_mday = 5;
    tm.tm_hour = 12;
    tm.tm_isdst = -1;
    return std::mktime(&tm);
  });
  const std::string out = t.render(ojson::parse(R"([{"role": "user", "content": " Hi "}])"), true, nullptr);
  EXPECT_EQ(out,
            "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 05 Jan 2025\n\n"
            "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, EveryRealTemplateParses) {
  const std::string dir = test::shared_dir() + "/tokenizers/templates/";
  REQUIRE_FILE(dir + "google-gemma-2-2b-it.jinja");
  for (const char* name : {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "Qwen-Qwen2.5-7B-Instruct.jinja",
                           "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "google-gemma-2-2b-it.jinja",
                           "meta-llama-Llama-3.1-8B-Instruct.jinja", "meta-llama-Llama-3.2-3B-Instruct.jinja",
                           "microsoft-Phi-3.5-mini-instruct.jinja", "mistralai-Mistral-Nemo-Instruct-2407.jinja"}) {
    EXPECT_NO_THROW(ChatTemplate::from_file(dir + name)) << name;
  }
}

}  // namespace
}  // namespace citadel
