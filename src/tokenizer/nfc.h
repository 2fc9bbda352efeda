// Unicode Normalization Form C, as Hugging Face's "NFC" normalizer applies it (Qwen's tokenizer.json):
// "e" + U+0301 becomes "é" before tokenizing. Bytes that are not valid UTF-8 pass through unchanged.
#pragma once
#include <string>
#include <string_view>

namespace citadel {

std::string to_nfc(std::string_view text);

}  // namespace citadel
