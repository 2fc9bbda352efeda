// What a caller reads of an answer under a PII policy, through the engine's stream filter:
// placeholders back to the values (redact-input), the model's own PII hidden (redact-both),
// whatever the chunking of the tokens.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "gateway/pii.h"
#include "gateway/pii_stream_redactor.h"

namespace citadel {
namespace {

std::vector<TokenEvent> tokens_of(const std::string& text, size_t step) {
  std::vector<TokenEvent> out;
  for (size_t i = 0; i < text.size(); i += step) out.push_back({static_cast<int32_t>(i), text.substr(i, step), 0, {}});
  return out;
}

std::string read_all(RequestStream& s) {
  std::string text;
  TokenEvent ev;
  while (s.next(ev)) text += ev.text;
  return text;
}

GenerationResult length_result() {
  GenerationResult r;
  r.reason = FinishReason::Length;
  return r;
}

TEST(AnswerFilter, PlaceholdersComeBackForTheCaller) {
  const PiiDetector detector;
  auto redactor = std::make_shared<PiiRedactor>(detector);
  ASSERT_EQ(redactor->redact("call me on 13812345678 or mail a.b@example.com"), "call me on [PHONE_1] or mail [EMAIL_1]");
  const std::string model_text = "I will call [PHONE_1] today, and write to [EMAIL_1]. [PHONE_2] is unknown.";
  for (size_t step : {1, 2, 3, 5, 7, 64}) {
    auto stream = RequestStream::replay(tokens_of(model_text, step), length_result());
    auto restorer = std::make_shared<PiiStreamRestorer>(*redactor);
    stream->set_text_filter([restorer](const std::string& t, bool end) { return end ? restorer->finish() : restorer->push(t); });
    EXPECT_EQ(read_all(*stream), "I will call 13812345678 today, and write to a.b@example.com. [PHONE_2] is unknown.")
        << "tokens of " << step << " bytes";
  }
}

TEST(AnswerFilter, TheModelsOwnPiiIsHidden) {
  const PiiDetector detector;
  const std::string model_text = "Sure: the card 4111 1111 1111 1111 belongs to 11010519491231002X, phone 13912345678.";
  PiiRedactor whole(detector);
  const std::string want = whole.redact(model_text);
  ASSERT_EQ(want.find("4111"), std::string::npos);
  for (size_t step : {1, 4, 9, 200}) {
    auto redactor = std::make_shared<PiiRedactor>(detector);
    auto stream = RequestStream::replay(tokens_of(model_text, step), length_result());
    auto filter = std::make_shared<PiiStreamRedactor>(detector, *redactor);
    stream->set_text_filter([filter, redactor](const std::string& t, bool end) { return end ? filter->finish() : filter->push(t); });
    EXPECT_EQ(read_all(*stream), want) << "tokens of " << step << " bytes";
  }
}

}  // namespace
}  // namespace citadel
