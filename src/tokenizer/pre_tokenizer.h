// Splits text into words before BPE runs on each word. A pre-tokenizer is a list of regex passes
// (PCRE2, UTF + Unicode properties); each pass splits every piece left by the previous ones, the way
// llama.cpp's unicode_regex_split and Hugging Face's Sequence of Split pre-tokenizers do. With no
// passes the whole text is one word. Bytes that are not valid UTF-8 become words of their own.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace citadel {

// What a pass does with the text a regex matches (Hugging Face's SplitDelimiterBehavior).
enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

class PreTokenizer {
 public:
  PreTokenizer();
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&);
  PreTokenizer& operator=(const PreTokenizer&);

  // Throws std::invalid_argument naming the pattern when it does not compile.
  void add_regex(const std::string& pattern, SplitBehavior behavior = SplitBehavior::kIsolated,
                 bool invert = false);
  bool empty() const;

  // Words in order; with only isolating passes they concatenate back to `text`.
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Pass;
  std::vector<std::shared_ptr<const Pass>> passes_;
};

}  // namespace citadel
