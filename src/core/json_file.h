// Reads a whole JSON file (Hugging Face config.json, tokenizer.json, ...).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace citadel {

// Throws std::runtime_error if the file cannot be opened, FormatError (a runtime_error) naming
// the file if it is not valid JSON.
nlohmann::json read_json_file(const std::string& path);

}  // namespace citadel
