// citadel inspect: what a model file holds — architecture, hyper-parameters, tokenizer,
// tensors and the memory it needs.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>

#include "core/gguf.h"
#include "model/hparams.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "tools/tool.h"
#include "tools/tool_support.h"

namespace citadel {
namespace {

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.2f %s" : "%.0f %s", b, units[u]);
  return buf;
}

int run_inspect(int argc, char** argv) {
  CLI::App app{"Describe a GGUF model file: metadata, tensors, memory needed.", "citadel inspect"};
  std::string path;
  bool all_metadata = false, no_tensors = false;
  int64_t context = 0;
  app.add_option("model", path, "GGUF file")->required();
  app.add_flag("--metadata", all_metadata, "print every metadata key");
  app.add_flag("--no-tensors", no_tensors, "omit the tensor table");
  app.add_option("-c,--context", context, "context length for the KV-cache estimate (default: the model's)");
  add_model_key_option(app);
  CLI11_PARSE(app, argc, argv);

  auto f = GgufFile::open(path);
  std::printf("file:          %s (GGUF v%u, %s)\n", path.c_str(), f->version(), human_bytes(double(f->file_size())).c_str());
  std::printf("name:          %s\n", f->get_string("general.name", "-").c_str());
  size_t weight_bytes = 0;
  std::map<std::string, int> type_counts;
  for (const auto& t : f->tensors()) {
    weight_bytes += t.nbytes;
    ++type_counts[type_name(t.type)];
  }
  if (f->has("general.architecture")) {
    HParams hp = HParams::from_gguf(*f);
    Model::load(path);  // validates the tensors against the architecture
    std::printf("architecture:  %s\n", hp.arch.c_str());
    std::printf("layers %lld, embedding %lld, heads %lld (kv %lld, head size %lld), ffn %lld, vocab %lld\n",
                (long long)hp.n_layer, (long long)hp.n_embd, (long long)hp.n_head, (long long)hp.n_head_kv,
                (long long)hp.head_dim, (long long)hp.n_ff, (long long)hp.n_vocab);
    std::printf("context %lld, rope theta %g (%s), norm eps %g\n", (long long)hp.n_ctx_train, hp.rope_theta,
                hp.rope_style == RopeStyle::NeoX ? "neox" : "adjacent pairs", hp.norm_eps);
    const int64_t ctx = context > 0 ? context : hp.n_ctx_train;
    const double kv_bytes = double(KvCache::blocks_for(ctx, 1)) * KvCache::kBlockSize * hp.kv_dim() * hp.n_layer * 2 * 4;
    std::printf("memory:        weights %s (mapped) + KV cache %s per sequence of %lld tokens (f32)\n",
                human_bytes(double(weight_bytes)).c_str(), human_bytes(kv_bytes).c_str(), (long long)ctx);
  } else {
    std::printf("architecture:  none (vocabulary-only file)\n");
  }
  if (f->has("tokenizer.ggml.model")) {
    auto tok = Tokenizer::from_gguf(*f);
    std::printf("tokenizer:     %s, %d tokens, bos %d, eos %d, pre '%s'\n", tok->model_name().c_str(), tok->n_vocab(),
                tok->bos_id(), tok->eos_id(), f->get_string("tokenizer.ggml.pre", "default").c_str());
  }
  std::printf("chat template: %s\n", f->has("tokenizer.chat_template") ? "yes" : "no");
  std::printf("tensors:       %zu (", f->tensors().size());
  bool first = true;
  for (const auto& [name, count] : type_counts) std::printf("%s%s x%d", first ? "" : ", ", name.c_str(), count), first = false;
  std::printf(")\n");
  if (all_metadata) {
    std::printf("\nmetadata:\n");
    for (const auto& [key, value] : f->metadata()) std::printf("  %-44s %s\n", key.c_str(), value.to_display_string().c_str());
  }
  if (!no_tensors) {
    std::printf("\n%-36s %-6s %-24s %s\n", "tensor", "type", "shape", "bytes");
    for (const auto& t : f->tensors()) {
      std::string shape;
      for (size_t d = 0; d < t.shape.size(); ++d) shape += (d ? " x " : "") + std::to_string(t.shape[d]);
      std::printf("%-36s %-6s %-24s %s\n", t.name.c_str(), type_name(t.type).c_str(), shape.c_str(),
                  human_bytes(double(t.nbytes)).c_str());
    }
  }
  return 0;
}

const ToolRegistration reg{"inspect", "describe a model file (architecture, tensors, memory)", run_inspect};

}  // namespace
}  // namespace citadel
