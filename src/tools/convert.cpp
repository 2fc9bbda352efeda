// citadel convert: a Hugging Face folder or a llama2.c checkpoint -> a GGUF file.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "model/hf_model.h"
#include "model/llama2c.h"
#include "model/weight_source.h"
#include "tools/progress_bar.h"
#include "tools/tool.h"

namespace citadel {
namespace {

std::string dir_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

int run_convert(int argc, char** argv) {
  CLI::App app{"Convert a Hugging Face folder (config.json + safetensors + tokenizer) or a llama2.c checkpoint\n"
               "(with its tokenizer.bin) to a GGUF file.", "citadel convert"};
  std::string in, out, type_name, tokenizer;
  int threads = 0;
  app.add_option("input", in, "Hugging Face folder or llama2.c checkpoint (.bin)")->required();
  app.add_option("output", out, "output .gguf path")->required();
  app.add_option("--type", type_name,
                 "f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k_m, q5_k_m, q6_k "
                 "(default: f16 for Hugging Face folders, f32 for llama2.c checkpoints)");
  app.add_option("--tokenizer", tokenizer, "llama2.c tokenizer.bin (default: tokenizer.bin beside the checkpoint)");
  app.add_option("-t,--threads", threads, "threads")->check(CLI::Range(0, 1024));
  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<WeightSource> src;
  if (is_hf_folder(in)) {
    src = open_hf_folder(in);
    if (type_name.empty()) type_name = "f16";
  } else if (is_llama2c_checkpoint(in)) {
    src = open_llama2c(in, tokenizer.empty() ? dir_of(in) + "/tokenizer.bin" : tokenizer);
    if (type_name.empty()) type_name = "f32";
  } else {
    std::fprintf(stderr, "citadel convert: '%s' is neither a Hugging Face folder (no config.json) nor a llama2.c checkpoint\n",
                 in.c_str());
    return 2;
  }
  const FileType ft = parse_file_type(type_name);
  ThreadPool pool(threads);
  ProgressBar bar("converting");
  const size_t bytes = write_gguf(*src, ft, out, pool, [&](size_t done, size_t total) { bar.update(done, total); });
  bar.finish();
  std::printf("wrote %s: %zu tensors, %s, %.2f MiB of tensors (source %.2f MiB)\n", out.c_str(), src->tensors.size(),
              ft.name.c_str(), double(bytes) / (1 << 20), double(src->source_bytes()) / (1 << 20));
  return 0;
}

const ToolRegistration reg{"convert", "convert a Hugging Face folder or llama2.c checkpoint to GGUF", run_convert};

}  // namespace
}  // namespace citadel
