// A streamed answer redacted chunk by chunk gives the text redacting the whole answer gives, for
// every way of cutting it into chunks.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "gateway/pii_detector.h"
#include "gateway/pii_redactor.h"
#include "gateway/pii_stream_redactor.h"

namespace citadel {
namespace {

TEST(PiiStreamRedactor, ChunkedEqualsWhole) {
  const PiiDetector detector;
  const std::string answer =
      "The file says SSN: 123456789 for the applicant, and the build was version 1.0.0.0 of the app. "
      "You can reach Mr. Wang on 13812345678 or at wang.lei@example.com; his card is 4111 1111 1111 1111 "
      "and the IBAN GB82 WEST 1234 5698 7654 32. 请拨打电话13912345678联系，身份证号码11010519491231002X。"
      "Order 2024-11-05-778812 is not personal, nor is version 3.14.15. Server 10.1.2.3 logged it.";
  PiiRedactor whole_r(detector);
  const std::string whole = whole_r.redact(answer);
  ASSERT_NE(whole.find("[PHONE_1]"), std::string::npos) << whole;
  ASSERT_NE(whole.find("[CN_ID_1]"), std::string::npos) << whole;
  ASSERT_EQ(whole.find("123456789"), std::string::npos) << "a labelled SSN: " << whole;
  ASSERT_NE(whole.find("version 1.0.0.0"), std::string::npos) << "a version is not an IP: " << whole;
  std::mt19937 rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    PiiRedactor r(detector);
    PiiStreamRedactor stream(detector, r);
    std::string out;
    for (size_t i = 0; i < answer.size();) {
      const size_t n = std::min<size_t>(answer.size() - i, 1 + rng() % (trial % 2 ? 3 : 40));
      out += stream.push(std::string_view(answer).substr(i, n));
      i += n;
    }
    out += stream.finish();
    ASSERT_EQ(out, whole) << "trial " << trial;
  }
}

TEST(PiiStreamRedactor, HoldsBackNoMoreThanNeeded) {
  const PiiDetector detector;
  PiiRedactor r(detector);
  PiiStreamRedactor stream(detector, r);
  std::string sent;
  for (int i = 0; i < 50; ++i) sent += stream.push("The weather is fine today. ");
  EXPECT_GE(sent.size(), 50u * 27 - PiiStreamRedactor::kHoldBytes - 27) << "plain text flows with a bounded delay";
  EXPECT_EQ(sent + stream.finish(), [] {
    std::string s;
    for (int i = 0; i < 50; ++i) s += "The weather is fine today. ";
    return s;
  }());
}

}  // namespace
}  // namespace citadel
