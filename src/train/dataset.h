// Training data: JSON Lines, one example per line, either
//   {"text": "..."}                      every token is learnt (BOS as the vocabulary asks, EOS at the end),
//   {"prompt": "...", "completion": "..."}
//                                        the text prompt + completion; only the completion (and EOS) is learnt, or
//   {"messages": [{"role": ..., "content": ...}, ...]}
//                                        rendered with the model's chat template (as the server renders
//                                        it); only the assistant turns, with their end-of-turn tokens, are learnt.
// Examples longer than the context are cut into windows that overlap by one token, so every
// learnt token is predicted once.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/train_batch.h"

namespace citadel {

class Tokenizer;
class ChatTemplate;

struct TrainExample {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> learnt;  // learnt[i]: token i is a target (predicted from tokens < i)
  size_t line = 0;              // 1-based line of the file it came from
  // Distillation: at each row i whose next token is learnt, a teacher's top_k most likely next
  // ids and their probabilities (tokens.size() x top_k; train/teacher.h fills them).
  int top_k = 0;
  std::vector<int32_t> teacher_ids;
  std::vector<float> teacher_probs;
  int64_t targets() const;      // learnt tokens after the first
};

// Reads `path`. Throws std::runtime_error naming file and line for a line that is not JSON, has
// neither "text" nor "messages", or a message without string role/content.
std::vector<TrainExample> load_examples(const std::string& path, const Tokenizer& tok, const ChatTemplate& chat,
                                        int64_t context);

// Moves a `fraction` of the examples (whole source lines, chosen by `seed`; at least one when
// fraction > 0 and there are two or more lines) to `held_out`.
void split_held_out(std::vector<TrainExample>& examples, double fraction, uint64_t seed,
                    std::vector<TrainExample>& held_out);

// The examples of one epoch in a shuffled order (by seed and epoch), packed into batches of at
// most `batch_tokens` tokens (an example longer than that is a batch of its own).
std::vector<std::vector<size_t>> epoch_batches(const std::vector<TrainExample>& examples, int64_t batch_tokens,
                                               uint64_t seed, int epoch);

// A batch of the given examples: row i targets token i+1 when that token is learnt (with the
// teacher's distribution at row i when the examples have one).
TrainBatch make_batch(const std::vector<TrainExample>& examples, const std::vector<size_t>& which);

}  // namespace citadel
