// A prompt of text and images as the engine takes it: token ids with each image's rows in place
// (engine/request.h PromptEmbedding). Images go where the text has "<image>" (LLaVA's marker,
// as llama.cpp's llava-cli): the text before the first marker is tokenized with BOS, later text
// without. Images beyond the markers go right after BOS, before the text. An image's caption (its
// named DICOM attributes) is tokenized as plain text right before its rows.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/request.h"
#include "media/image.h"

namespace citadel {

class ClipModel;
class Tokenizer;

inline constexpr const char* kImageMarker = "<image>";

struct MultimodalPrompt {
  std::vector<int32_t> ids;                 // tokens, and placeholders where the images are
  std::vector<PromptEmbedding> embeddings;  // one per image
  int64_t image_tokens = 0;                 // positions the images take (they count as prompt tokens)
};

// Throws std::invalid_argument when the text has more markers than there are images.
MultimodalPrompt build_multimodal_prompt(const Tokenizer& tokenizer, const ClipModel& clip, ThreadPool& pool,
                                         const std::string& text, const std::vector<Image>& images, bool add_bos,
                                         bool parse_special);

// 64-bit hash of an image's size and pixels, and the n placeholder ids derived from it: negative
// (never a vocabulary id), different per row, so two images share no cached block.
uint64_t image_hash(const Image& image);
std::vector<int32_t> image_placeholder_ids(uint64_t hash, int64_t n);

}  // namespace citadel
