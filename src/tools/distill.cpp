// citadel distill: teach a student model a teacher's next-token distributions (KL to the
// teacher's top-k plus cross-entropy), as a LoRA adapter on the student or its full weights.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "model/model.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "tools/progress_bar.h"
#include "tools/tool.h"
#include "tools/tool_support.h"
#include "tools/train_support.h"
#include "train/lora_init.h"
#include "train/model_export.h"
#include "train/teacher.h"

namespace citadel {
namespace {

int run_distill(int argc, char** argv) {
  CLI::App app{"Distil a teacher model into a student: the student learns the teacher's top-k next-token\n"
               "probabilities on the data (KL divergence) plus the data's own next tokens (cross-entropy).\n"
               "The student gets a LoRA adapter (default) or, with --full, all its weights trained.\n"
               "--teacher-logits FILE keeps the teacher's top-k in a file: given with --teacher and without\n"
               "--student it only writes the file; given without --teacher it is read, so teacher and\n"
               "student need not be in memory together.",
               "citadel distill"};
  std::string teacher_path, student_path, out, logits_path, targets = "all", type_name = "f32";
  std::vector<std::string> data;
  int64_t rank = 8;
  float alpha = 16;
  int top_k = 16;
  bool full = false;
  TrainFlags f;
  f.options.lr = 2e-3f;
  f.options.loss = LossWeights{0.5f, 1.0f};
  app.add_option("--teacher", teacher_path, "teacher model (GGUF file or Hugging Face folder)");
  app.add_option("--student", student_path, "student model (same vocabulary as the teacher)");
  app.add_option("--data", data, "text to distil on (.jsonl, as finetune; repeatable)");
  app.add_option("-o,--out", out, "adapter (.gguf), or with --full the student model (.gguf)");
  app.add_option("--teacher-logits", logits_path, "file of the teacher's top-k (written with --teacher, else read)");
  app.add_option("--top-k", top_k, "teacher probabilities kept per token")->capture_default_str()->check(CLI::Range(1, 4096));
  app.add_option("--kl-weight", f.options.loss.kl, "weight of the KL term")->capture_default_str()->check(CLI::Range(0.0, 1000.0));
  app.add_option("--ce-weight", f.options.loss.ce, "weight of the cross-entropy term")->capture_default_str()
      ->check(CLI::Range(0.0, 1000.0));
  app.add_flag("--full", full, "train all the student's weights (default: a LoRA adapter)");
  app.add_option("--type", type_name, "tensor type of the --full student written out (f32, f16, q8_0, ...)")->capture_default_str();
  app.add_option("--rank", rank, "LoRA rank")->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(4096)));
  app.add_option("--alpha", alpha, "LoRA alpha")->capture_default_str();
  app.add_option("--targets", targets, "LoRA targets: q,k,v,o,gate,up,down (or attn, ffn, all)")->capture_default_str();
  add_train_flags(app, f);
  CLI11_PARSE(app, argc, argv);
  if (teacher_path.empty() && logits_path.empty()) throw CLI::ValidationError("give --teacher and/or --teacher-logits");
  if (student_path.empty() && (teacher_path.empty() || logits_path.empty()))
    throw CLI::ValidationError("give --student (or --teacher with --teacher-logits to only write the teacher's top-k)");
  if (!student_path.empty() && out.empty()) throw CLI::ValidationError("give --out");
  if (data.empty() && !teacher_path.empty()) throw CLI::ValidationError("give --data to run the teacher on");

  ThreadPool pool(f.threads);
  std::vector<TrainExample> examples;
  uint64_t vocabulary = 0;
  if (!teacher_path.empty()) {
    LoadedModel teacher = load_model_and_tokenizer(teacher_path);
    const ChatTemplate chat(model_chat_template(teacher.model->gguf()));
    TrainFlags all = f;
    all.val_split = 0, all.val_path.clear();
    examples = load_train_data(data, all, *teacher.tokenizer, chat).train;
    ProgressBar bar("teacher");
    compute_teacher_topk(*teacher.model, examples, top_k, pool, [&](size_t d, size_t t) { bar.update(d, t); });
    bar.finish();
    vocabulary = vocabulary_fingerprint(*teacher.tokenizer);
    if (!logits_path.empty()) {
      write_teacher_file(logits_path, examples, vocabulary);
      std::fprintf(stderr, "wrote the teacher's top-%d of %zu examples to %s\n", top_k, examples.size(), logits_path.c_str());
    }
    if (student_path.empty()) return 0;
  }
  LoadedModel student = load_model_and_tokenizer(student_path);
  if (teacher_path.empty()) {
    examples = read_teacher_file(logits_path, vocabulary_fingerprint(*student.tokenizer));
  } else if (vocabulary != vocabulary_fingerprint(*student.tokenizer)) {
    throw std::runtime_error("the teacher and the student have different vocabularies: distillation needs the same one");
  }
  std::vector<TrainExample> held_out;
  if (!f.val_path.empty()) throw CLI::ValidationError("distill holds out a --val-split of the data, not a --val file");
  split_held_out(examples, f.val_split, f.options.seed, held_out);

  const Model& model = *student.model;
  std::shared_ptr<LoraAdapter> adapter;
  std::unique_ptr<TrainableModel> tm;
  if (full) {
    tm = TrainableModel::full(model, pool);
  } else {
    adapter = init_lora_adapter(model, rank, alpha, parse_lora_targets(targets), f.options.seed);
    tm = TrainableModel::lora(model, adapter, pool);
  }
  if (f.options.checkpoint.empty() && !f.no_checkpoint) f.options.checkpoint = out + ".ckpt";
  if (f.no_checkpoint) f.options.checkpoint.clear();
  f.options.settings = {{"mode", full ? "full" : "lora"}, {"rank", std::to_string(rank)}, {"alpha", std::to_string(alpha)},
                        {"targets", targets}};
  Trainer trainer(*tm, examples, held_out, f.options, pool);
  std::fprintf(stderr, "distill: student %s (%s), %zu examples, %zu held out, top-%d, %lld steps\n",
               student_path.c_str(), full ? "all weights" : "LoRA", examples.size(), held_out.size(), examples[0].top_k,
               static_cast<long long>(trainer.total_steps()));
  nlohmann::json summary = {{"teacher", teacher_path}, {"student", student_path}, {"full", full},
                            {"top_k", examples[0].top_k}, {"threads", pool.size()}};
  const TrainReport r = run_training(trainer, f, summary);
  if (r.interrupted) {
    std::fprintf(stderr, "interrupted at step %lld; checkpoint '%s' (continue with --resume)\n",
                 static_cast<long long>(r.steps), f.options.checkpoint.c_str());
    return 130;
  }
  if (full) write_trained_model(student_path, *tm, out, parse_file_type(type_name), pool);
  else adapter->write(out, "citadel distill");
  summary["out"] = out;
  std::fprintf(stderr, "wrote %s\n", out.c_str());
  if (f.json) std::cout << summary.dump() << "\n";
  return 0;
}

const ToolRegistration reg{"distill", "distil a teacher model into a student (LoRA or full weights)", run_distill};

}  // namespace
}  // namespace citadel
