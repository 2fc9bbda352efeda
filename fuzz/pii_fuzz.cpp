// libFuzzer target: any bytes through the PII detector (built-in detectors, a dictionary, a
// regex), redaction, restoring (whole and streamed in two chunks) and the JSONL line scanner.
// Never crashes; the spans are ordered, disjoint, inside the text and hold its bytes; the
// streamed restore equals the whole one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/pii.h"
#include "gateway/pii_jsonl.h"

namespace {

const citadel::PiiDetector& detector() {
  static const citadel::PiiDetector d([] {
    citadel::PiiConfig c;
    c.dictionaries.push_back({"NAME", {}, {"张伟", "John Smith", "a"}, false});
    c.regexes.push_back({"CODE", "(?<![A-Z])K-\\d{2,4}"});
    return c;
  }());
  return d;
}

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto spans = detector().detect(text);
  size_t covered = 0;
  for (const auto& s : spans) {
    require(s.begin >= covered && s.begin < s.end && s.end <= text.size());
    require(s.value == text.substr(s.begin, s.end - s.begin));
    covered = s.end;
  }

  citadel::PiiRedactor redactor(detector());
  const std::string redacted = redactor.redact(text);
  const std::string restored = redactor.restore(redacted);
  const size_t cut = size ? data[0] % (redacted.size() + 1) : 0;
  citadel::PiiStreamRestorer stream(redactor);
  std::string streamed = stream.push(std::string_view(redacted).substr(0, cut));
  streamed += stream.push(std::string_view(redacted).substr(cut));
  streamed += stream.finish();
  require(streamed == restored);

  static const auto paths = citadel::parse_json_field_paths("text,messages.*.content");
  std::string out;
  (void)citadel::redact_jsonl_line(text, paths, redactor, out);
  return 0;
}
