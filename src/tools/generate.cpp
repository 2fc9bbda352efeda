// citadel generate: complete a prompt with a model, streaming the text to stdout.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "engine/generator.h"
#include "engine/multimodal_prompt.h"
#include "media/dicom_window.h"
#include "media/image.h"
#include "model/clip.h"
#include "model/lora_adapter.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "tools/tool.h"
#include "tools/tool_support.h"

namespace citadel {
namespace {

int run_generate(int argc, char** argv) {
  CLI::App app{"Generate text from a prompt (streams to stdout).", "citadel generate"};
  std::string model_path, prompt;
  GenerateOptions opt;
  int threads = 0;
  bool json = false, no_bos = false, ignore_eos = false;
  app.add_option("-m,--model", model_path, "GGUF file or Hugging Face folder (default: the bundled demo model)");
  app.add_option("-p,--prompt", prompt, "prompt text (default: read stdin)");
  app.add_option("-n,--max-tokens", opt.max_tokens, "tokens to generate")->capture_default_str()->check(CLI::Range(0, 1 << 24));
  app.add_option("--temperature", opt.sampling.temperature, "0 = greedy")->capture_default_str()->check(CLI::Range(0.0, 100.0));
  app.add_option("--top-k", opt.sampling.top_k, "0 = off")->capture_default_str();
  app.add_option("--top-p", opt.sampling.top_p, "1 = off")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  app.add_option("--min-p", opt.sampling.min_p, "0 = off")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  app.add_option("--repeat-penalty", opt.sampling.repeat_penalty, "1 = off")->capture_default_str();
  app.add_option("--repeat-last-n", opt.sampling.repeat_last_n, "history for penalties")->capture_default_str();
  app.add_option("--frequency-penalty", opt.sampling.frequency_penalty)->capture_default_str();
  app.add_option("--presence-penalty", opt.sampling.presence_penalty)->capture_default_str();
  app.add_option("-s,--seed", opt.sampling.seed, "random seed (same seed, same text)")->capture_default_str();
  app.add_option("--stop", opt.stop, "stop string (repeatable)");
  app.add_option("-c,--context", opt.context, "context length (default: the model's)");
  app.add_option("-t,--threads", threads, "threads (default: all cores)")->check(CLI::Range(0, 1024));
  std::vector<std::string> lora_args;
  app.add_option("--lora", lora_args, "LoRA adapter FILE[:SCALE] (repeatable; llama.cpp's LoRA GGUF layout)");
  std::string mmproj_path;
  std::vector<std::string> image_paths;
  app.add_option("--mmproj", mmproj_path, "vision projector (llama.cpp's LLaVA-1.5 mmproj GGUF) for --image");
  app.add_option("--image", image_paths,
                 "PNG, JPEG or DICOM image (repeatable); each goes where the prompt says <image>, else before the text")
      ->check(CLI::ExistingFile);
  DicomOptions dicom;
  std::string dicom_window;
  app.add_option("--dicom-window", dicom_window,
                 "DICOM images: a window preset (lung, bone, brain, abdomen) or CENTER,WIDTH (default: the file's)");
  app.add_option("--dicom-frame", dicom.frame, "DICOM images: the frame of a multi-frame file (from 0)")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--dicom-attributes", dicom.attributes,
                 "DICOM images: header attributes put before the image in the prompt (e.g. Modality,BodyPartExamined; "
                 "identifying ones are refused)")
      ->delimiter(',');
  app.add_flag("--no-bos", no_bos, "do not prepend BOS");
  app.add_flag("--ignore-eos", ignore_eos, "keep generating past end-of-sequence");
  app.add_flag("--json", json, "print one JSON object {prompt_ids, ids, text} instead of streaming");
  add_model_key_option(app);
  CLI11_PARSE(app, argc, argv);

  if (!dicom_window.empty()) {
    const size_t comma = dicom_window.find(',');
    if (comma == std::string::npos) {
      dicom.window_preset = dicom_window;
      if (!find_dicom_window_preset(dicom_window)) {  // refused as the API refuses it, whatever the image
        std::fprintf(stderr, "citadel generate: --dicom-window: no preset '%s' (%s)\n", dicom_window.c_str(),
                     dicom_window_preset_names().c_str());
        return 2;
      }
    } else {
      char *center_end = nullptr, *end = nullptr;
      dicom.window_center = std::strtod(dicom_window.c_str(), &center_end);
      dicom.window_width = std::strtod(dicom_window.c_str() + comma + 1, &end);
      if (center_end != dicom_window.c_str() + comma || *end != '\0' || !(dicom.window_width >= 1) ||
          !std::isfinite(dicom.window_center)) {
        std::fprintf(stderr, "citadel generate: --dicom-window: a preset name or CENTER,WIDTH with WIDTH >= 1\n");
        return 2;
      }
    }
  }
  if (!app.count("--prompt")) prompt = read_all_stdin();
  opt.add_bos = !no_bos;
  opt.stop_at_eos = !ignore_eos;
  LoadedModel lm = load_model_and_tokenizer(model_path);
  const LoraStack lora = load_lora_stack(lora_args, *lm.model);
  if (!lora.empty()) opt.lora = &lora;
  ThreadPool pool(threads);
  std::vector<int32_t> prompt_ids;
  if (!image_paths.empty()) {
    if (mmproj_path.empty()) {
      std::fprintf(stderr, "citadel generate: --image needs --mmproj (the model's vision projector)\n");
      return 2;
    }
    auto clip = ClipModel::load(mmproj_path);
    if (clip->n_embd_out() != lm.model->hparams().n_embd) {
      std::fprintf(stderr, "citadel generate: %s projects to %lld values per row, but the model's embeddings are %lld\n",
                   mmproj_path.c_str(), static_cast<long long>(clip->n_embd_out()),
                   static_cast<long long>(lm.model->hparams().n_embd));
      return 2;
    }
    std::vector<Image> images;
    for (const std::string& path : image_paths) {
      std::ifstream in(path, std::ios::binary);
      std::ostringstream bytes;
      bytes << in.rdbuf();
      try {
        images.push_back(decode_image(bytes.str(), {}, dicom));
      } catch (const ImageError& e) {
        std::fprintf(stderr, "citadel generate: %s: %s\n", path.c_str(), e.what());
        return 2;
      }
    }
    MultimodalPrompt mp = build_multimodal_prompt(*lm.tokenizer, *clip, pool, prompt, images, opt.add_bos, false);
    prompt_ids = std::move(mp.ids);
    opt.embeddings = std::move(mp.embeddings);
  } else {
    prompt_ids = lm.tokenizer->encode(prompt, opt.add_bos);
  }

  GenerateCallbacks cb;
  if (!json) cb.on_text = [](const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
  };
  GenerateResult r = generate_from_ids(*lm.model, *lm.tokenizer, pool, std::move(prompt_ids), opt, cb);
  if (json) {
    nlohmann::json j = {{"prompt_ids", r.prompt_ids}, {"ids", r.ids}, {"text", r.text}, {"finish_reason", r.finish_reason}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::printf("\n");
  }
  return 0;
}

const ToolRegistration reg{"generate", "generate text from a prompt", run_generate};

}  // namespace
}  // namespace citadel
