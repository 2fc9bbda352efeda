// citadel synth: write a random-weight GGUF model of a real shape (for benchmarks and tests).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "model/synthetic_clip.h"
#include "model/synthetic_model.h"
#include "tools/tool.h"

namespace citadel {
namespace {

int run_synth(int argc, char** argv) {
  std::string shapes;
  for (const auto& s : model_shape_names()) shapes += (shapes.empty() ? "" : ", ") + s;
  std::string clip_shapes;
  for (const auto& s : clip_shape_names()) clip_shapes += (clip_shapes.empty() ? "" : ", ") + s;
  CLI::App app{"Write a random-weight GGUF model of a real shape (speed does not depend on weight values).\n"
               "Shapes: " + shapes + ".\nVision projectors (LLaVA-1.5 mmproj, --type f32 or f16): " + clip_shapes,
               "citadel synth"};
  std::string shape_name, type_name = "f16", out, vocab_from;
  uint64_t seed = 42;
  int threads = 0;
  float matrix_std = 0, embedding_std = 0;
  app.add_option("--shape", shape_name, "model shape")->required();
  app.add_option("--type", type_name, "f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k_m, q5_k_m, q6_k")->capture_default_str();
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  app.add_option("--vocab-from", vocab_from, "copy the tokenizer from this GGUF (default: a synthetic vocabulary)");
  app.add_option("--matrix-std", matrix_std,
                 "normal weights of this standard deviation (default: uniform of scale 1/sqrt(columns))")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--embedding-std", embedding_std, "the same for token_embd and output")->check(CLI::NonNegativeNumber);
  int64_t proj_embd = 0;
  app.add_option("--proj-embd", proj_embd, "mmproj shapes: the projector's output width (the text model's n_embd)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  app.add_option("-t,--threads", threads, "threads");
  app.add_option("output", out, "output .gguf path")->required();
  CLI11_PARSE(app, argc, argv);

  if (const ClipShape* clip = find_clip_shape(shape_name)) {
    ClipShape s = *clip;
    if (proj_embd > 0) s.n_proj = proj_embd;
    const FileType type = parse_file_type(type_name);
    write_synthetic_mmproj(s, seed, type.base, out);
    std::printf("wrote %s: LLaVA-1.5 projector %s (%lld patches of %lld values), %s\n", out.c_str(), s.name,
                static_cast<long long>((s.image_size / s.patch_size) * (s.image_size / s.patch_size)),
                static_cast<long long>(s.n_proj), type.name.c_str());
    return 0;
  }
  const ModelShape* shape = find_model_shape(shape_name);
  if (!shape) {
    std::fprintf(stderr, "citadel synth: unknown shape '%s' (known: %s, %s)\n", shape_name.c_str(), shapes.c_str(),
                 clip_shapes.c_str());
    return 2;
  }
  SynthOptions opt;
  opt.type = parse_file_type(type_name);
  opt.seed = seed;
  opt.vocab_from = vocab_from;
  opt.matrix_std = matrix_std;
  opt.embedding_std = embedding_std;
  ThreadPool pool(threads);
  size_t bytes = write_synthetic_model(*shape, opt, out, pool);
  std::printf("wrote %s: %s, %s, %.1f MiB of tensors\n", out.c_str(), shape->name, opt.type.name.c_str(),
              double(bytes) / (1024.0 * 1024.0));
  return 0;
}

const ToolRegistration reg{"synth", "write a random-weight model of a real shape", run_synth};

}  // namespace
}  // namespace citadel
