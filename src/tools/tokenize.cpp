// citadel tokenize: text -> token ids with the tokenizer of a GGUF file or of a tokenizer.json.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "core/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tools/tool.h"
#include "tools/tool_support.h"

namespace {

using nlohmann::json;

std::unique_ptr<citadel::Tokenizer> load_tokenizer(const std::string& model, const std::string& tokenizer_json) {
  if (!model.empty()) return citadel::Tokenizer::from_gguf(*citadel::GgufFile::open(model));
  const auto config = std::filesystem::path(tokenizer_json).parent_path() / "tokenizer_config.json";
  return citadel::Tokenizer::from_hf_files(tokenizer_json, std::filesystem::exists(config) ? config.string() : "");
}

// Pieces may hold part of a UTF-8 character: those bytes print as U+FFFD.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

int run_batch(const citadel::Tokenizer& tok, bool add_bos, bool parse_special) {
  std::string line;
  for (size_t n = 1; std::getline(std::cin, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json text;
    try {
      text = json::parse(line);
    } catch (const json::exception& e) {
      std::fprintf(stderr, "citadel tokenize: line %zu is not JSON: %s\n", n, e.what());
      return 1;
    }
    if (!text.is_string()) {
      std::fprintf(stderr, "citadel tokenize: line %zu is not a JSON string\n", n);
      return 1;
    }
    std::cout << dump(tok.encode(text.get<std::string>(), add_bos, parse_special)) << '\n';
  }
  return 0;
}

int run_tokenize(int argc, char** argv) {
  CLI::App app{"Turn text into token ids. Text comes from stdin (byte for byte) unless --text is given."};
  std::string model, tokenizer_json, text;
  bool no_bos = false, as_json = false, as_jsonl = false, parse_special = false;
  auto* model_opt =
      app.add_option("--model,-m", model, "GGUF file (a vocabulary-only GGUF is fine; default: the bundled model)");
  auto* tok_opt = app.add_option("--tokenizer", tokenizer_json,
                                 "Hugging Face tokenizer.json (tokenizer_config.json beside it is read too)");
  model_opt->excludes(tok_opt);
  auto* text_opt = app.add_option("--text,-t", text, "text to tokenize instead of stdin");
  app.add_flag("--no-bos", no_bos, "do not add BOS (or EOS) even where the vocabulary asks for it");
  app.add_flag("--parse-special", parse_special, "turn control-token texts such as <|im_end|> into their tokens");
  auto* json_opt = app.add_flag("--json", as_json, R"(print {"ids":[...],"pieces":[...]})");
  auto* jsonl_opt = app.add_flag("--jsonl", as_jsonl,
                                 "batch: one JSON string per stdin line, one JSON array of ids per output line");
  json_opt->excludes(jsonl_opt);
  jsonl_opt->excludes(text_opt);
  citadel::add_model_key_option(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (model.empty() && tokenizer_json.empty()) model = citadel::default_model_path();

  const auto tok = load_tokenizer(model, tokenizer_json);
  const bool add_bos = !no_bos;
  if (as_jsonl) return run_batch(*tok, add_bos, parse_special);

  if (text_opt->count() == 0) text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  const std::vector<int32_t> ids = tok->encode(text, add_bos, parse_special);
  if (as_json) {
    json pieces = json::array();
    for (int32_t id : ids) pieces.push_back(tok->token_to_piece(id));
    std::cout << dump(json{{"ids", ids}, {"pieces", pieces}}) << '\n';
  } else {
    for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
    std::cout << '\n';
  }
  return 0;
}

const citadel::ToolRegistration reg{"tokenize", "turn text into token ids (GGUF or tokenizer.json)", run_tokenize};

}  // namespace
