#include "core/json_file.h"

#include <fstream>
#include <sstream>

#include "core/gguf.h"

namespace citadel {

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path + ": malformed JSON: " + e.what());
  }
}

}  // namespace citadel
