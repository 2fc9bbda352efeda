// A teacher's next-token distributions for distillation: at every row of a training example whose
// next token is learnt, the teacher's k most likely ids with their probabilities (softmax over the
// whole vocabulary, then renormalised over the k). Computed with the inference forward (any
// architecture we run), once; they can be kept in a file so teacher and student need not be in
// memory together.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "train/dataset.h"

namespace citadel {

class Model;
class Tokenizer;

// Fills examples' top_k / teacher_ids / teacher_probs. Throws std::invalid_argument when an
// example is longer than the teacher's context.
void compute_teacher_topk(const Model& teacher, std::vector<TrainExample>& examples, int k, ThreadPool& pool,
                          const std::function<void(size_t done, size_t total)>& progress = {});

// Identifies a vocabulary (its size and token texts): a student must share its teacher's.
uint64_t vocabulary_fingerprint(const Tokenizer& tok);

// The examples with their teacher distributions, and the fingerprint of the teacher's vocabulary.
void write_teacher_file(const std::string& path, const std::vector<TrainExample>& examples, uint64_t vocabulary);
// Throws std::runtime_error for a file that is not one, truncated, or of another vocabulary.
std::vector<TrainExample> read_teacher_file(const std::string& path, uint64_t vocabulary);

}  // namespace citadel
