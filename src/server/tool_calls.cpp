#include "server/tool_calls.h"

#include <atomic>

namespace citadel {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string next_call_id() {
  static std::atomic<uint64_t> counter{0};
  return "call_" + std::to_string(++counter);
}

// {"name": "...", "arguments"|"parameters": {...}} -> a call, if it is one.
bool to_call(const nlohmann::json& j, ToolCall& call) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) return false;
  const nlohmann::json* args = nullptr;
  if (j.contains("arguments")) args = &j["arguments"];
  else if (j.contains("parameters")) args = &j["parameters"];
  call.id = next_call_id();
  call.name = j["name"].get<std::string>();
  if (!args) call.arguments = "{}";
  else call.arguments = args->is_string() ? args->get<std::string>() : args->dump();
  return true;
}

}  // namespace

ParsedToolCalls parse_tool_calls(const std::string& output) {
  ParsedToolCalls out;
  const std::string open = "<tool_call>", close = "</tool_call>";
  if (output.find(open) != std::string::npos) {
    std::string rest;
    size_t pos = 0;
    while (true) {
      const size_t a = output.find(open, pos);
      if (a == std::string::npos) break;
      const size_t b = output.find(close, a);
      const std::string body = output.substr(a + open.size(), b == std::string::npos ? std::string::npos : b - a - open.size());
      rest += output.substr(pos, a - pos);
      nlohmann::json j = nlohmann::json::parse(trim(body), nullptr, false);
      ToolCall call;
      if (!j.is_discarded() && to_call(j, call)) out.calls.push_back(call);
      else rest += output.substr(a, (b == std::string::npos ? output.size() : b + close.size()) - a);
      if (b == std::string::npos) {
        pos = output.size();
        break;
      }
      pos = b + close.size();
    }
    rest += output.substr(pos);
    out.content = trim(rest);
    return out;
  }
  std::string text = trim(output);
  if (text.rfind("[TOOL_CALLS]", 0) == 0) text = trim(text.substr(12));
  if (text.rfind("<|python_tag|>", 0) == 0) text = trim(text.substr(14));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded()) {
    std::vector<ToolCall> calls;
    ToolCall call;
    if (j.is_array()) {
      for (const auto& item : j)
        if (to_call(item, call)) calls.push_back(call);
      if (calls.size() != j.size()) calls.clear();
    } else if (to_call(j, call)) {
      calls.push_back(call);
    }
    if (!calls.empty()) {
      out.calls = std::move(calls);
      return out;
    }
  }
  out.content = output;
  return out;
}

}  // namespace citadel
