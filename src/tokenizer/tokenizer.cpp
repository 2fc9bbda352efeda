#include "tokenizer/tokenizer.h"

namespace citadel {

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool render_special) const {
  std::string text;
  bool run_start = true;  // a run of text starts here: at the start or after a special token
  bool input_start = true;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= n_vocab()) continue;
    if (is_special(id)) {
      if (render_special || !is_control(id)) text += token_to_piece(id);
      run_start = true;
      input_start = input_start && i == 0 && id == bos_id();  // an added BOS is not part of the text
      continue;
    }
    std::string piece = token_to_piece(id);
    const bool spaced = input_start ? adds_space_prefix() : adds_space_prefix_after_special();
    if (run_start && spaced && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    run_start = input_start = false;
    text += piece;
  }
  return text;
}

}  // namespace citadel
