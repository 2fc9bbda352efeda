// Data loading, the training loop (held-out loss falls on the domain corpus), checkpoints and
// resuming, teacher files, and adapters merged into a model.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "model/lora_adapter.h"
#include "model/model.h"
#include "model/synthetic_model.h"
#include "test_paths.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/lora_init.h"
#include "train/model_export.h"
#include "train/teacher.h"
#include "train/trainer.h"

using namespace citadel;

namespace {

std::string temp_path(const std::string& what) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "/citadel-train-" + info->name() + "-" + what;
}

std::string stories_path() { return test::source_dir() + "/models/stories260K.gguf"; }
std::string data_dir() { return test::source_dir() + "/tests/data/finetune"; }

struct Loaded {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
  std::unique_ptr<ChatTemplate> chat;
};

Loaded load(const std::string& path) {
  Loaded l;
  l.model = Model::load(path);
  l.tok = Tokenizer::from_gguf(l.model->gguf());
  l.chat = std::make_unique<ChatTemplate>(model_chat_template(l.model->gguf()));
  return l;
}

std::string write_lines(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream(path) << text;
  return path;
}

std::vector<TrainExample> first(std::vector<TrainExample> v, size_t n) {
  v.resize(std::min(n, v.size()));
  return v;
}

}  // namespace

TEST(Dataset, LearnsTextWholeAndOnlyCompletionsAndAssistantTurns) {
  Loaded l = load(stories_path());
  const std::string path = write_lines("data.jsonl",
      "{\"text\": \"The bank opens at nine.\"}\n"
      "\n"
      "{\"prompt\": \"Q: When? A:\", \"completion\": \" At nine.\"}\n"
      "{\"messages\": [{\"role\": \"user\", \"content\": \"When?\"}, {\"role\": \"assistant\", \"content\": \"At nine.\"}]}\n");
  auto ex = load_examples(path, *l.tok, *l.chat, 128);
  ASSERT_EQ(ex.size(), 3u);
  // Text: BOS, every token, EOS; all learnt.
  EXPECT_EQ(ex[0].tokens.front(), l.tok->bos_id());
  EXPECT_EQ(ex[0].tokens.back(), l.tok->eos_id());
  EXPECT_EQ(ex[0].targets(), static_cast<int64_t>(ex[0].tokens.size()) - 1);
  EXPECT_EQ(ex[0].line, 1u);
  // Prompt / completion: only the completion and EOS.
  const auto completion = l.tok->encode("Q: When? A: At nine.", true);
  const auto prompt = l.tok->encode("Q: When? A:", true);
  EXPECT_EQ(ex[1].line, 3u);
  EXPECT_EQ(ex[1].targets(), static_cast<int64_t>(completion.size() - prompt.size()) + 1);
  EXPECT_EQ(ex[1].learnt[prompt.size() - 1], 0);
  EXPECT_EQ(ex[1].learnt.back(), 1);
  // Chat (ChatML fallback): the assistant's answer and its end-of-turn text, not the user's turn.
  std::string learnt;
  for (size_t i = 0; i < ex[2].tokens.size(); ++i)
    if (ex[2].learnt[i]) learnt += l.tok->token_to_piece(ex[2].tokens[i]);
  EXPECT_NE(learnt.find("At nine."), std::string::npos) << learnt;
  EXPECT_EQ(learnt.find("When?"), std::string::npos) << learnt;
}

TEST(Dataset, RefusesBadLinesNamingThem) {
  Loaded l = load(stories_path());
  const std::string path = write_lines("bad.jsonl", "{\"text\": \"fine\"}\n{\"txt\": 3}\n");
  try {
    load_examples(path, *l.tok, *l.chat, 128);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_examples(write_lines("nojson.jsonl", "not json\n"), *l.tok, *l.chat, 128), std::runtime_error);
  EXPECT_THROW(load_examples(temp_path("absent.jsonl"), *l.tok, *l.chat, 128), std::runtime_error);
}

TEST(Dataset, CutsLongTextIntoOverlappingWindowsAndSplitsByLine) {
  Loaded l = load(stories_path());
  std::string text;
  for (int i = 0; i < 40; ++i) text += "Once upon a time there was a little dog. ";
  const std::string path = write_lines("long.jsonl", "{\"text\": \"" + text + "\"}\n{\"text\": \"short\"}\n");
  auto ex = load_examples(path, *l.tok, *l.chat, 64);
  const size_t n = l.tok->encode(text, true).size() + 1;
  int64_t targets = 0, windows = 0;
  for (const auto& e : ex)
    if (e.line == 1) {
      EXPECT_LE(e.tokens.size(), 64u);
      targets += e.targets(), ++windows;
    }
  EXPECT_GT(windows, 1);
  EXPECT_EQ(targets, static_cast<int64_t>(n) - 1) << "every token after the first is predicted once";
  std::vector<TrainExample> held;
  split_held_out(ex, 0.5, 1, held);
  ASSERT_FALSE(held.empty());
  ASSERT_FALSE(ex.empty());
  for (const auto& h : held)
    for (const auto& e : ex) EXPECT_NE(h.line, e.line) << "a line is held out whole";
}

TEST(Training, HeldOutDomainLossFallsWithinAFewSteps) {
  // A short run on the Sunny Bank corpus (tests/data/finetune): the held-out loss of the domain
  // falls clearly below the base model's. (The full run and its figures: docs/finetune.md.)
  Loaded l = load(stories_path());
  ThreadPool pool(2);
  auto train = first(load_examples(data_dir() + "/bank_train.jsonl", *l.tok, *l.chat, 128), 48);
  auto held = first(load_examples(data_dir() + "/bank_val.jsonl", *l.tok, *l.chat, 128), 16);
  auto adapter = init_lora_adapter(*l.model, 8, 16, parse_lora_targets("all"), 1);
  auto tm = TrainableModel::lora(*l.model, adapter, pool);
  TrainOptions o;
  o.epochs = 2;
  o.lr = 3e-3f;
  o.batch_tokens = 256;
  Trainer trainer(*tm, train, held, o, pool);
  int steps = 0;
  const TrainReport r = trainer.run([&](const StepInfo& s) { steps = static_cast<int>(s.step); }, nullptr);
  EXPECT_EQ(steps, trainer.total_steps());
  ASSERT_EQ(r.epochs.size(), 2u);
  const double before = r.before.perplexity(), after = r.epochs.back().held_out.perplexity();
  RecordProperty("held_out_ppl_before", std::to_string(before));
  RecordProperty("held_out_ppl_after", std::to_string(after));
  EXPECT_LT(after, 0.5 * before);
  EXPECT_GT(r.tokens, 0);
}

TEST(Training, ResumingFromACheckpointContinuesTheSameRun) {
  Loaded l = load(stories_path());
  ThreadPool pool(2);
  auto train = first(load_examples(data_dir() + "/bank_train.jsonl", *l.tok, *l.chat, 128), 10);
  TrainOptions o;
  o.epochs = 2;
  o.batch_tokens = 96;
  auto run = [&](const std::string& ckpt, int64_t stop_after, const std::string& resume) {
    auto adapter = init_lora_adapter(*l.model, 4, 8, parse_lora_targets("q,v"), 3);
    auto tm = TrainableModel::lora(*l.model, adapter, pool);
    TrainOptions oo = o;
    oo.checkpoint = ckpt;
    oo.checkpoint_every = 1;
    Trainer t(*tm, train, {}, oo, pool);
    if (!resume.empty()) t.resume(resume);
    std::atomic<bool> stop{false};
    t.run([&](const StepInfo& s) { if (s.step == stop_after) stop = true; }, nullptr, &stop);
    return adapter->layers[2][0].b;  // blk.2.attn_q lora_b
  };
  const std::string ckpt = temp_path("run.ckpt");
  const auto straight = run("", -1, "");
  const auto first_half = run(ckpt, 3, "");  // stops after step 3 (Ctrl-C): the checkpoint holds step 3
  EXPECT_NE(first_half, straight);
  EXPECT_EQ(read_checkpoint_info(ckpt).step, 3);
  const auto resumed = run(temp_path("run2.ckpt"), -1, ckpt);
  ASSERT_EQ(resumed.size(), straight.size());
  for (size_t i = 0; i < resumed.size(); ++i) EXPECT_NEAR(resumed[i], straight[i], 1e-6) << i;
}

TEST(Teacher, TopKFileRoundTripsAndChecksTheVocabulary) {
  Loaded l = load(stories_path());
  ThreadPool pool(2);
  auto ex = first(load_examples(data_dir() + "/bank_val.jsonl", *l.tok, *l.chat, 128), 3);
  compute_teacher_topk(*l.model, ex, 8, pool);
  ASSERT_EQ(ex[0].top_k, 8);
  // Row 0 predicts token 1: probabilities sorted, summing to one.
  double sum = 0;
  for (int i = 0; i < 8; ++i) sum += ex[0].teacher_probs[i];
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_GE(ex[0].teacher_probs[0], ex[0].teacher_probs[7]);
  const std::string path = temp_path("topk.bin");
  const uint64_t vocab = vocabulary_fingerprint(*l.tok);
  write_teacher_file(path, ex, vocab);
  auto back = read_teacher_file(path, vocab);
  ASSERT_EQ(back.size(), ex.size());
  EXPECT_EQ(back[2].tokens, ex[2].tokens);
  EXPECT_EQ(back[2].teacher_ids, ex[2].teacher_ids);
  EXPECT_EQ(back[2].teacher_probs, ex[2].teacher_probs);
  EXPECT_THROW(read_teacher_file(path, vocab + 1), std::runtime_error);
}

TEST(Export, MergedModelComputesWhatBasePlusAdapterComputes) {
  Loaded l = load(stories_path());
  ThreadPool pool(2);
  auto adapter = init_lora_adapter(*l.model, 4, 8, parse_lora_targets("all"), 5);
  for (auto& layer : adapter->layers)
    for (LoraPair& p : layer)
      for (size_t i = 0; i < p.b.size(); ++i) p.b[i] = 0.05f * std::sin(static_cast<float>(i));
  const LoraStack stack{{{adapter, 0.7f}}};
  const std::string out = temp_path("merged.gguf");
  merge_lora(stories_path(), *l.model, stack, out, default_merge_type(*l.model), pool);
  auto merged = Model::load(out);
  Batch with, plain;
  const std::vector<int32_t> ids = {1, 400, 20, 33, 7};
  for (size_t i = 0; i < ids.size(); ++i) {
    with.add(ids[i], static_cast<int32_t>(i), 0, true, &stack);
    plain.add(ids[i], static_cast<int32_t>(i), 0, true);
  }
  const int64_t vocab = l.model->hparams().n_vocab;
  std::vector<float> a(ids.size() * vocab), b(a.size()), c(a.size());
  auto run = [&](const Model& m, const Batch& batch, float* logits) {
    KvCache kv(m.hparams(), KvCache::blocks_for(16, 1));
    kv.reserve(kv.add_sequence(), 16);
    m.forward(batch, kv, pool, logits);
  };
  run(*l.model, with, a.data());
  run(*merged, plain, b.data());
  run(*l.model, plain, c.data());
  double diff = 0, change = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, double(std::abs(a[i] - b[i]))), change = std::max(change, double(std::abs(a[i] - c[i])));
  EXPECT_LT(diff, 1e-4);
  EXPECT_GT(change, 1e-2) << "the adapter does something";
}
