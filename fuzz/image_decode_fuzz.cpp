// libFuzzer target: any byte string either decodes as an image (PNG, JPEG, DICOM) within the
// limits or throws ImageError; never crashes, and memory stays bounded by the pixel limit.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "media/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  citadel::ImageLimits limits;
  limits.max_pixels = 4'000'000;  // 12 MB of RGB: room for the fuzzer's RSS limit
  try {
    citadel::Image img = citadel::decode_image(std::string_view(reinterpret_cast<const char*>(data), size), limits);
    volatile uint8_t sink = img.rgb.empty() ? 0 : img.rgb.back();
    (void)sink;
    if (static_cast<size_t>(img.width) * img.height * 3 != img.rgb.size()) __builtin_trap();
  } catch (const citadel::ImageError&) {
  }
  return 0;
}
