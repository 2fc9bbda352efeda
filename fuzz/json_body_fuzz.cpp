// libFuzzer target: request bodies as the routes read them (server/json_fields.h,
// server/generation.h): parse, the typed field getters, chat roles, and response_format /
// tool-call JSON schemas compiled for constrained decoding. Bad input is a 400 ApiError,
// never a crash, hang or other exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/generation.h"
#include "server/json_fields.h"

using citadel::ApiError;

namespace {

template <typename F>
void field(F&& f) {
  try {
    f();
  } catch (const ApiError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json body;
  try {
    body = citadel::parse_json_body(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const ApiError&) {
    return 0;
  }
  field([&] { citadel::get_int(body, "max_tokens", 16, 0, 1 << 20); });
  field([&] { citadel::get_number(body, "temperature", 1.0, 0.0, 2.0); });
  field([&] { citadel::get_bool(body, "stream", false); });
  field([&] { citadel::get_string(body, "model", ""); });
  field([&] { citadel::get_optional_string(body, "suffix"); });
  field([&] { citadel::get_string_or_list(body, "stop", 4); });
  field([&] { citadel::required_string(body, "prompt"); });
  if (auto it = body.find("messages"); it != body.end() && it->is_array())
    for (const auto& m : *it)
      if (m.is_object() && m.contains("role")) field([&] { citadel::chat_role(m["role"], "messages[].role"); });
  if (auto it = body.find("response_format"); it != body.end() && it->is_object())
    if (auto js = it->find("json_schema"); js != it->end() && js->is_object() && js->contains("schema"))
      field([&] { citadel::compile_schema((*js)["schema"], "response_format.json_schema.schema"); });
  if (auto it = body.find("schema"); it != body.end()) field([&] { citadel::compile_schema(*it, "schema"); });
  return 0;
}
