// Embedding rows in the prompt (an image's, from the projector): rows equal to token embeddings
// give exactly the tokens' output, alone and batched with text requests; the prefix cache
// shares K/V only between equal images (placeholder ids from the image's hash).
#include <gtest/gtest.h>

#include <memory>

#include "core/matmul.h"
#include "engine/engine.h"
#include "engine/generator.h"
#include "engine/multimodal_prompt.h"
#include "model/clip.h"
#include "model/synthetic_clip.h"
#include "model/model.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

using namespace citadel;

namespace {

struct MultimodalTest : ::testing::Test {
  void SetUp() override {
    model = Model::load(test::source_dir() + "/models/stories260K.gguf");
    tok = Tokenizer::from_gguf(model->gguf());
    ids = tok->encode(
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her "
        "friends and her dog",
        true);
    ASSERT_GT(ids.size(), 30u);
  }
  // The token embeddings of ids[pos, pos + n) as an "image", with placeholders from `hash`.
  std::pair<std::vector<int32_t>, PromptEmbedding> as_image(int64_t pos, int64_t n, uint64_t hash) const {
    const int64_t d = model->hparams().n_embd;
    auto rows = std::make_shared<std::vector<float>>(n * d);
    for (int64_t i = 0; i < n; ++i) get_row(model->weights().tok_embd, ids[pos + i], rows->data() + i * d);
    std::vector<int32_t> prompt = ids;
    const std::vector<int32_t> ph = image_placeholder_ids(hash, n);
    std::copy(ph.begin(), ph.end(), prompt.begin() + pos);
    return {prompt, PromptEmbedding{pos, n, rows}};
  }
  std::vector<int32_t> collect(RequestStream& s) {
    std::vector<int32_t> out;
    TokenEvent ev;
    while (s.next(ev))
      if (ev.token >= 0) out.push_back(ev.token);
    return out;
  }
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
  std::vector<int32_t> ids;
};

}  // namespace

TEST(ImagePlaceholders, NegativeDistinctAndHashDependent) {
  const auto a = image_placeholder_ids(1, 64), b = image_placeholder_ids(2, 64);
  for (int32_t id : a) EXPECT_LT(id, 0);
  EXPECT_EQ(a, image_placeholder_ids(1, 64));
  int same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  EXPECT_EQ(same, 0);
  Image x{2, 1, {1, 2, 3, 4, 5, 6}, {}}, y{2, 1, {1, 2, 3, 4, 5, 7}, {}}, z{1, 2, {1, 2, 3, 4, 5, 6}, {}};
  EXPECT_NE(image_hash(x), image_hash(y));
  EXPECT_NE(image_hash(x), image_hash(z));  // same bytes, other shape
}

TEST_F(MultimodalTest, GeneratorRowsEqualToTokenEmbeddingsGiveTheSameText) {
  ThreadPool pool(2);
  GenerateOptions opt;
  opt.max_tokens = 16;
  opt.sampling.temperature = 0;
  const GenerateResult plain = generate_from_ids(*model, *tok, pool, ids, opt);
  auto [prompt, emb] = as_image(3, 10, 42);
  opt.embeddings = {emb};
  const GenerateResult with_rows = generate_from_ids(*model, *tok, pool, prompt, opt);
  EXPECT_EQ(plain.ids, with_rows.ids);
  EXPECT_FALSE(plain.ids.empty());
}

TEST_F(MultimodalTest, EngineBatchesImageAndTextRequestsAndKeysTheCacheOnTheImage) {
  EngineOptions eo;
  eo.parallel = 3;
  Engine engine(*model, *tok, eo);
  GenerationRequest text;
  text.prompt = ids;
  text.max_tokens = 12;
  text.sampling.temperature = 0;
  const std::vector<int32_t> expected = collect(*engine.submit(text));

  auto [prompt, emb] = as_image(1, 24, 7);
  GenerationRequest img = text;
  img.prompt = prompt;
  img.embeddings = {emb};
  // Together in one running batch with a text request: both give the text answer.
  auto s1 = engine.submit(img);
  auto s2 = engine.submit(text);
  EXPECT_EQ(collect(*s1), expected);
  EXPECT_EQ(collect(*s2), expected);
  EXPECT_EQ(s1->result().prompt_tokens, static_cast<int32_t>(ids.size()));  // image rows count

  // The same image again reuses its blocks; another image (other hash) reuses none of them.
  auto again = engine.submit(img);
  EXPECT_EQ(collect(*again), expected);
  EXPECT_GE(again->result().cached_prompt_tokens, 16);
  auto [prompt2, emb2] = as_image(1, 24, 8);
  GenerationRequest other = img;
  other.prompt = prompt2;
  other.embeddings = {emb2};
  auto s3 = engine.submit(other);
  collect(*s3);
  EXPECT_EQ(s3->result().cached_prompt_tokens, 0);
}

TEST_F(MultimodalTest, CaptionTokensGoRightBeforeTheImageRows) {
  const std::string path = testing::TempDir() + "mm-caption.gguf";
  write_synthetic_mmproj(*find_clip_shape("clip-tiny"), 1, TensorType::F32, path);
  auto clip = ClipModel::load(path);
  ThreadPool pool(1);
  const Image img{32, 32, std::vector<uint8_t>(32 * 32 * 3, 100), "[DICOM Modality: CT]\n"};
  const std::vector<int32_t> before = tok->encode("Look: ", true), caption = tok->encode(img.caption, false);
  ASSERT_FALSE(caption.empty());
  // Marked: the text before the marker, the caption, the rows, the rest.
  MultimodalPrompt mp = build_multimodal_prompt(*tok, *clip, pool, "Look: <image> What is it?", {img}, true, false);
  ASSERT_EQ(mp.embeddings.size(), 1u);
  EXPECT_EQ(mp.embeddings[0].pos, static_cast<int64_t>(before.size() + caption.size()));
  EXPECT_TRUE(std::equal(caption.begin(), caption.end(), mp.ids.begin() + static_cast<long>(before.size())));
  // Unmarked: BOS, the caption, the rows, then the text; a captionless image has none.
  mp = build_multimodal_prompt(*tok, *clip, pool, "What is it?", {img}, true, false);
  EXPECT_EQ(mp.ids[0], tok->bos_id());
  EXPECT_EQ(mp.embeddings[0].pos, static_cast<int64_t>(1 + caption.size()));
  Image plain = img;
  plain.caption.clear();
  EXPECT_EQ(build_multimodal_prompt(*tok, *clip, pool, "What is it?", {plain}, true, false).embeddings[0].pos, 1);
  std::remove(path.c_str());
}

TEST_F(MultimodalTest, BadSpansAreRefused) {
  Engine engine(*model, *tok, EngineOptions{});
  auto [prompt, emb] = as_image(2, 5, 1);
  GenerationRequest r;
  r.prompt = prompt;
  r.max_tokens = 2;
  EXPECT_THROW(engine.submit(r), std::invalid_argument);  // placeholders without rows
  r.embeddings = {emb};
  r.embeddings[0].n = 4;  // rows of 5 for a span of 4, and a placeholder left over
  EXPECT_THROW(engine.submit(r), std::invalid_argument);
  r.embeddings = {emb};
  r.embeddings[0].pos = static_cast<int64_t>(prompt.size()) - 2;  // runs past the prompt
  EXPECT_THROW(engine.submit(r), std::invalid_argument);
  r.embeddings = {emb};
  r.prompt = ids;  // rows over real tokens
  EXPECT_THROW(engine.submit(r), std::invalid_argument);
}
