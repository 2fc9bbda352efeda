// citadel merge-lora: bake LoRA adapters into a base model (W + scale * alpha / rank * B A).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "model/lora_adapter.h"
#include "model/model.h"
#include "tools/tool.h"
#include "tools/tool_support.h"
#include "train/model_export.h"

namespace citadel {
namespace {

int run_merge_lora(int argc, char** argv) {
  CLI::App app{"Bake LoRA adapters into a base model, as llama.cpp's llama-export-lora does. The merged model keeps\n"
               "the base's float type (a quantized base gives f16: re-quantize it with `citadel quantize`).",
               "citadel merge-lora"};
  std::string base_path, out, type_name;
  std::vector<std::string> adapters;
  int threads = 0;
  app.add_option("base", base_path, "base model (.gguf)")->required();
  app.add_option("adapter", adapters, "adapter FILE[:SCALE] (one or more, applied in order)")->required()->expected(1);
  app.add_option("output", out, "merged model (.gguf)")->required();
  app.add_option("--lora", adapters, "more adapters FILE[:SCALE]");
  app.add_option("--type", type_name, "tensor type of the output: f32, f16, bf16, q8_0, q4_k_m, ... (default: see above)");
  app.add_option("-t,--threads", threads, "threads")->check(CLI::Range(0, 1024));
  CLI11_PARSE(app, argc, argv);

  auto base = Model::load(base_path);
  const LoraStack stack = load_lora_stack(adapters, *base);
  const FileType type = type_name.empty() ? default_merge_type(*base) : parse_file_type(type_name);
  ThreadPool pool(threads);
  const size_t bytes = merge_lora(base_path, *base, stack, out, type, pool);
  std::printf("%s + %zu adapter%s -> %s (%s, %.2f MiB of tensors)\n", base_path.c_str(), stack.refs.size(),
              stack.refs.size() == 1 ? "" : "s", out.c_str(), type.name.c_str(), double(bytes) / (1 << 20));
  return 0;
}

const ToolRegistration reg{"merge-lora", "bake LoRA adapters into a model (then `quantize` it)", run_merge_lora};

}  // namespace
}  // namespace citadel
