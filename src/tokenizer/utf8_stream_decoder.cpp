#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace citadel {

std::string Utf8StreamDecoder::push(const std::string& piece) {
  pending_ += piece;
  std::string out;
  size_t pos = 0;
  while (pos < pending_.size()) {
    const size_t n = utf8::valid_length_at(pending_, pos);
    if (n > 0) {
      out.append(pending_, pos, n);
      pos += n;
    } else if (utf8::is_incomplete_prefix(pending_, pos)) {
      break;  // wait for the bytes that finish this character
    } else {
      out += utf8::kReplacementChar;  // bytes no continuation can repair
      pos += utf8::invalid_length_at(pending_, pos);
    }
  }
  pending_.erase(0, pos);
  return out;
}

std::string Utf8StreamDecoder::flush() {
  std::string out = push("");
  if (!pending_.empty()) out += utf8::kReplacementChar;  // a character cut short
  pending_.clear();
  return out;
}

}  // namespace citadel
