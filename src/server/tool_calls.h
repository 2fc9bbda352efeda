// Finds tool calls in a model's output, in the formats the chat templates teach:
//   <tool_call>{"name": ..., "arguments": {...}}</tool_call>   (Hermes, Qwen 2.5/3)
//   {"name": ..., "parameters": {...}}                          (Llama 3.1/3.2, the whole output)
//   [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]        (Mistral)
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace citadel {

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // a JSON object, serialised (as OpenAI sends it)
};

struct ParsedToolCalls {
  std::string content;  // text outside the calls (trimmed)
  std::vector<ToolCall> calls;
};

ParsedToolCalls parse_tool_calls(const std::string& output);

}  // namespace citadel
