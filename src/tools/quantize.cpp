// citadel quantize: a GGUF file -> the same model with its tensors in another type (q8_0, q4_k_m, ...).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <sys/stat.h>

#include "core/gguf.h"
#include "model/weight_source.h"
#include "tools/progress_bar.h"
#include "tools/tool.h"
#include "tools/tool_support.h"

namespace citadel {
namespace {

double file_mib(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? double(st.st_size) / (1 << 20) : 0.0;
}

int run_quantize(int argc, char** argv) {
  CLI::App app{"Re-encode the tensors of a GGUF model in another type. Norms stay f32; q4_k_m and q5_k_m give\n"
               "the output head and some attn_v / ffn_down tensors Q6_K, as llama.cpp does; rows whose length\n"
               "is not a multiple of the block size fall back to a type that fits (or f16).", "citadel quantize"};
  std::string in, out, type_name;
  int threads = 0;
  app.add_option("input", in, "input .gguf (best f32, f16 or bf16)")->required();
  app.add_option("output", out, "output .gguf")->required();
  app.add_option("type", type_name, "q8_0, q4_0, q4_1, q5_0, q5_1, q4_k_m, q5_k_m, q6_k, f16, bf16, f32")->required();
  app.add_option("-t,--threads", threads, "threads")->check(CLI::Range(0, 1024));
  add_model_key_option(app);
  CLI11_PARSE(app, argc, argv);

  const FileType ft = parse_file_type(type_name);
  auto src = open_gguf_source(in);
  bool requantized = false;
  for (const SourceTensor& t : src->tensors)
    requantized |= t.type != TensorType::F32 && t.type != TensorType::F16 && t.type != TensorType::BF16;
  if (requantized)
    std::fprintf(stderr, "citadel quantize: warning: '%s' is already quantized; requantizing loses more quality\n",
                 in.c_str());
  ThreadPool pool(threads);
  ProgressBar bar("quantizing");
  const size_t bytes = write_gguf(*src, ft, out, pool, [&](size_t done, size_t total) { bar.update(done, total); });
  bar.finish();
  const double before = file_mib(in), after = file_mib(out);
  std::printf("%s -> %s (%s): %.2f MiB -> %.2f MiB (%.1f%% of the input), tensors %.2f -> %.2f MiB\n", in.c_str(),
              out.c_str(), ft.name.c_str(), before, after, before > 0 ? 100.0 * after / before : 0.0,
              double(src->source_bytes()) / (1 << 20), double(bytes) / (1 << 20));
  return 0;
}

const ToolRegistration reg{"quantize", "re-encode a GGUF model as q8_0, q4_k_m, ...", run_quantize};

}  // namespace
}  // namespace citadel
