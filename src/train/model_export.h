// Writing trained weights out as models: a base with LoRA adapters baked in (merge-lora), and the
// float weights of a fully trained student. Both keep the base file's metadata (tokenizer, chat
// template, hyper-parameters) and write tensors in a chosen file type (f32, f16, bf16, or any
// quantized type of `citadel quantize`).
#pragma once
#include <string>

#include "core/thread_pool.h"
#include "model/lora_adapter.h"
#include "model/quant_mix.h"

namespace citadel {

class Model;
class TrainableModel;

// The file type a merged model keeps by default: the base's float type (f32, f16, bf16) when its
// matrices have one, else f16 (re-quantize with `citadel quantize`).
FileType default_merge_type(const Model& base);

// W + sum over the stack of scale * alpha / rank * B A for every adapted matrix of `base`
// (loaded from `base_path`; the adapters must fit it). Returns the tensor bytes written.
size_t merge_lora(const std::string& base_path, const Model& base, const LoraStack& stack, const std::string& out,
                  const FileType& type, ThreadPool& pool);

// The trained weights of a full-mode model over the file it was loaded from.
size_t write_trained_model(const std::string& base_path, const TrainableModel& model, const std::string& out,
                           const FileType& type, ThreadPool& pool);

}  // namespace citadel
