#include "tokenizer/metaspace.h"

namespace citadel::metaspace {

static std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  size_t pos = 0;
  for (size_t hit; (hit = text.find(from, pos)) != std::string_view::npos; pos = hit + from.size()) {
    out.append(text.substr(pos, hit - pos));
    out.append(to);
  }
  out.append(text.substr(pos));
  return out;
}

std::string escape(std::string_view text) { return replace_all(text, " ", kSymbol); }
std::string unescape(std::string_view text) { return replace_all(text, kSymbol, " "); }

}  // namespace citadel::metaspace
