#include "tokenizer/tokenizer.h"

namespace citadel {

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool render_special) const {
  std::string text;
  bool run_start = true;  // where encode put SentencePiece's space: at the start, after a special
  for (int32_t id : ids) {
    if (id < 0 || id >= n_vocab()) continue;
    if (is_special(id)) {
      if (render_special || !is_control(id)) text += token_to_piece(id);
      run_start = true;
      continue;
    }
    std::string piece = token_to_piece(id);
    if (run_start && adds_space_prefix() && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    run_start = false;
    text += piece;
  }
  return text;
}

}  // namespace citadel
