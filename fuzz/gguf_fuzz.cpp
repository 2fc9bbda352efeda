// libFuzzer target: any byte string either parses as GGUF or throws FormatError; never crashes.
#include <cstddef>
#include <cstdint>

#include "core/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto f = citadel::GgufFile::parse(data, size, "fuzz");
    for (const auto& [key, value] : f->metadata()) (void)value.to_display_string();
    volatile uint8_t sink = 0;
    for (const auto& t : f->tensors())
      if (t.nbytes) sink = sink ^ static_cast<const uint8_t*>(t.data)[t.nbytes - 1];
  } catch (const citadel::FormatError&) {
  }
  return 0;
}
