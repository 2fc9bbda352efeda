#include "tools/tool_support.h"

#include <unistd.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <sstream>
#include <sys/stat.h>

#include "core/gguf.h"
#include "core/model_key.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace citadel {
namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::string executable_dir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.find_last_of('/'));
}

bool is_directory(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A Hugging Face folder's tokenizer.json (+ tokenizer_config.json) as the HF libraries read it;
// otherwise the tokenizer.ggml.* metadata (of the GGUF, or built from a folder's tokenizer.model).
std::unique_ptr<Tokenizer> load_tokenizer_for(const std::string& path, const Model& model) {
  if (is_directory(path)) {
    if (exists(path + "/tokenizer.json"))
      return Tokenizer::from_hf_files(path + "/tokenizer.json",
                                      exists(path + "/tokenizer_config.json") ? path + "/tokenizer_config.json" : "");
    if (!model.gguf().has("tokenizer.ggml.model"))
      throw std::runtime_error(path + ": no tokenizer.json or tokenizer.model");
  }
  return Tokenizer::from_gguf(model.gguf());
}

}  // namespace

void add_model_key_option(CLI::App& app) {
  app.add_option_function<std::string>("--model-key-file", [](const std::string& path) { set_model_key_file(path); },
                                       "key file of an encrypted model (default: $CITADEL_MODEL_KEY_FILE)");
}

std::string default_model_path() {
  if (const char* env = std::getenv("CITADEL_MODEL"); env && *env) return env;
  const std::string dir = executable_dir();
  for (const std::string& candidate : {dir + "/../models/stories260K.gguf", dir + "/../share/citadel/models/stories260K.gguf",
                                       std::string("models/stories260K.gguf")})
    if (exists(candidate)) return candidate;
  return "models/stories260K.gguf";
}

LoadedModel load_model_and_tokenizer(const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  LoadedModel lm;
  lm.model = Model::load(path.empty() ? default_model_path() : path);
  lm.tokenizer = load_tokenizer_for(path.empty() ? default_model_path() : path, *lm.model);
  lm.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return lm;
}

std::string read_all_stdin() {
  std::ostringstream ss;
  ss << std::cin.rdbuf();
  return ss.str();
}

}  // namespace citadel
