#include "engine/multimodal_prompt.h"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "model/clip.h"
#include "tokenizer/tokenizer.h"

namespace citadel {

const float* embedding_row(const std::vector<PromptEmbedding>& embeddings, int64_t pos, int64_t n_embd) {
  for (const PromptEmbedding& e : embeddings)
    if (pos >= e.pos && pos < e.pos + e.n) return e.rows->data() + (pos - e.pos) * n_embd;
  return nullptr;
}

void validate_prompt(const std::vector<int32_t>& prompt, const std::vector<PromptEmbedding>& embeddings,
                     int64_t n_vocab, int64_t n_embd) {
  const int64_t n = static_cast<int64_t>(prompt.size());
  std::vector<uint8_t> covered(embeddings.empty() ? 0 : n, 0);
  for (const PromptEmbedding& e : embeddings) {
    if (e.pos < 0 || e.n <= 0 || e.pos + e.n > n)
      throw std::invalid_argument("image rows at " + std::to_string(e.pos) + " lie outside the prompt");
    if (!e.rows || static_cast<int64_t>(e.rows->size()) != e.n * n_embd)
      throw std::invalid_argument("image rows do not match the model's embedding width " + std::to_string(n_embd) +
                                  " (is the mmproj file made for this model?)");
    for (int64_t i = e.pos; i < e.pos + e.n; ++i) {
      if (covered[i]++) throw std::invalid_argument("two images overlap in the prompt");
      if (prompt[i] >= 0) throw std::invalid_argument("an image's placeholder ids must be negative");
    }
  }
  for (int64_t i = 0; i < n; ++i)
    if ((covered.empty() || !covered[i]) && (prompt[i] < 0 || prompt[i] >= n_vocab))
      throw std::invalid_argument("token id " + std::to_string(prompt[i]) + " is outside the vocabulary");
}

uint64_t image_hash(const Image& image) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a, 64-bit
  auto mix = [&h](uint8_t b) { h = (h ^ b) * 1099511628211ull; };
  for (int s = 0; s < 32; s += 8) {
    mix(static_cast<uint8_t>(image.width >> s));
    mix(static_cast<uint8_t>(image.height >> s));
  }
  for (uint8_t b : image.rgb) mix(b);
  return h;
}

std::vector<int32_t> image_placeholder_ids(uint64_t hash, int64_t n) {
  std::vector<int32_t> ids(n);
  for (int64_t i = 0; i < n; ++i) {
    uint64_t z = hash + 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(i + 1);  // splitmix64
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    ids[i] = -1 - static_cast<int32_t>(z & 0x3fffffff);
  }
  return ids;
}

MultimodalPrompt build_multimodal_prompt(const Tokenizer& tokenizer, const ClipModel& clip, ThreadPool& pool,
                                         const std::string& text, const std::vector<Image>& images, bool add_bos,
                                         bool parse_special) {
  std::vector<std::string> segments;
  const std::string marker = kImageMarker;
  for (size_t start = 0;;) {
    const size_t at = text.find(marker, start);
    segments.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) break;
    start = at + marker.size();
  }
  const size_t n_markers = segments.size() - 1;
  if (n_markers > images.size())
    throw std::invalid_argument("the prompt has " + std::to_string(n_markers) + " " + marker + " markers but " +
                                std::to_string(images.size()) + " images");
  MultimodalPrompt out;
  auto add_image = [&](const Image& img) {
    if (!img.caption.empty()) {
      const std::vector<int32_t> caption = tokenizer.encode(img.caption, false, false);
      out.ids.insert(out.ids.end(), caption.begin(), caption.end());
    }
    auto rows = std::make_shared<std::vector<float>>(clip.embed(img, pool));
    const int64_t n = clip.n_patches();
    std::vector<int32_t> ids = image_placeholder_ids(image_hash(img), n);
    out.embeddings.push_back({static_cast<int64_t>(out.ids.size()), n, std::move(rows)});
    out.ids.insert(out.ids.end(), ids.begin(), ids.end());
    out.image_tokens += n;
  };
  const size_t unmarked = images.size() - n_markers;
  for (size_t s = 0; s < segments.size(); ++s) {
    if (s > 0) add_image(images[unmarked + s - 1]);
    std::vector<int32_t> ids = tokenizer.encode(segments[s], s == 0 && add_bos, parse_special);
    if (s == 0 && unmarked > 0) {
      // Unmarked images right after BOS, then the first segment's text.
      const size_t bos = (add_bos && !ids.empty() && ids[0] == tokenizer.bos_id()) ? 1 : 0;
      out.ids.insert(out.ids.end(), ids.begin(), ids.begin() + bos);
      for (size_t i = 0; i < unmarked; ++i) add_image(images[i]);
      out.ids.insert(out.ids.end(), ids.begin() + bos, ids.end());
    } else {
      out.ids.insert(out.ids.end(), ids.begin(), ids.end());
    }
  }
  return out;
}

}  // namespace citadel
