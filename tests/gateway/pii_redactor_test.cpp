// Placeholders (numbering per type, one placeholder per value across a request), restoring them,
// and restoring a streamed answer whose placeholders arrive split over chunks.
#include <gtest/gtest.h>

#include "gateway/pii.h"

using namespace citadel;

namespace {
const PiiDetector& detector() {
  static const PiiDetector d;
  return d;
}
}  // namespace

TEST(PiiRedactor, NumbersPerTypeAndOneValueOnePlaceholder) {
  PiiRedactor r(detector());
  std::vector<PiiSpan> spans;
  EXPECT_EQ(r.redact("电话13812345678，邮箱a@example.com，备用13912345678，再打13812345678", &spans),
            "电话[PHONE_1]，邮箱[EMAIL_1]，备用[PHONE_2]，再打[PHONE_1]");
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(spans[0].begin, 6u);  // "电话" is 6 bytes
  EXPECT_EQ(spans[0].value, "13812345678");
  // Later texts of the same request continue the numbering, and know the values already seen;
  // another spelling of the same number is the same value.
  EXPECT_EQ(r.redact("Call 138 1234 5678 or 13712345678; ID 11010519491231002x"),
            "Call [PHONE_1] or [PHONE_3]; ID [CN_ID_1]");
  EXPECT_EQ(r.redact("mail A@Example.com"), "mail [EMAIL_1]");
  EXPECT_EQ(r.placeholders(), 5u);
  EXPECT_EQ(r.counts().at("PHONE"), 5u);
  EXPECT_EQ(r.counts().at("EMAIL"), 2u);
  EXPECT_EQ(r.counts().at("CN_ID"), 1u);
  ASSERT_NE(r.original("[PHONE_1]"), nullptr);
  EXPECT_EQ(*r.original("[PHONE_1]"), "13812345678");  // the first spelling seen
  EXPECT_EQ(r.original("[PHONE_9]"), nullptr);
  EXPECT_EQ(r.longest_placeholder(), std::string("[CN_ID_1]").size());
}

TEST(PiiRedactor, TextWithoutPiiIsUnchanged) {
  PiiRedactor r(detector());
  EXPECT_EQ(r.redact("Once upon a time, 2023-11-15."), "Once upon a time, 2023-11-15.");
  EXPECT_EQ(r.redact(""), "");
  EXPECT_EQ(r.placeholders(), 0u);
  EXPECT_EQ(r.restore("[PHONE_1] stays"), "[PHONE_1] stays");
}

TEST(PiiRedactor, RestorePutsOriginalsBack) {
  PiiRedactor r(detector());
  const std::string text = "客户手机13812345678，卡号4111 1111 1111 1111，IP 10.0.0.1。";
  const std::string redacted = r.redact(text);
  EXPECT_EQ(redacted, "客户手机[PHONE_1]，卡号[BANK_CARD_1]，IP [IP_1]。");
  EXPECT_EQ(r.restore(redacted), text);
  // A model's answer: placeholders anywhere, repeated, glued; unknown and broken ones stay.
  EXPECT_EQ(r.restore("好的，[PHONE_1]已记录[PHONE_1]。[PHONE_2] [PHONE_1 [phone_1] [BANK_CARD_1][IP_1]"),
            "好的，13812345678已记录13812345678。[PHONE_2] [PHONE_1 [phone_1] 4111 1111 1111 111110.0.0.1");
  r.clear();
  EXPECT_EQ(r.restore(redacted), redacted);
  EXPECT_EQ(r.redact("13912345678"), "[PHONE_1]");
}

TEST(PiiStreamRestorer, PlaceholdersSplitAtEveryByte) {
  PiiRedactor r(detector());
  r.redact("13812345678 a@example.com 11010519491231002X 13912345678");
  const std::string answer = "[PHONE_1] 写信到[EMAIL_1]，证件[CN_ID_1]，[[PHONE_2]] [NOT_1] [PHONE_12] [ end";
  const std::string want = r.restore(answer);
  EXPECT_EQ(want, "13812345678 写信到a@example.com，证件11010519491231002X，[13912345678] [NOT_1] [PHONE_12] [ end");
  // Two chunks, split at every position.
  for (size_t cut = 0; cut <= answer.size(); ++cut) {
    PiiStreamRestorer s(r);
    std::string got = s.push(answer.substr(0, cut));
    got += s.push(answer.substr(cut));
    got += s.finish();
    EXPECT_EQ(got, want) << "cut at " << cut;
  }
  // One byte at a time.
  PiiStreamRestorer s(r);
  std::string got;
  for (char c : answer) got += s.push(std::string_view(&c, 1));
  got += s.finish();
  EXPECT_EQ(got, want);
}

TEST(PiiStreamRestorer, HeldTailIsReleased) {
  PiiRedactor r(detector());
  r.redact("13812345678");
  PiiStreamRestorer s(r);
  EXPECT_EQ(s.push("call [PHO"), "call ");
  EXPECT_EQ(s.push("NE"), "");
  EXPECT_EQ(s.push("_1] now"), "13812345678 now");
  EXPECT_EQ(s.push(" [PHONE"), " ");
  EXPECT_EQ(s.finish(), "[PHONE");  // never completed: sent as it came
  EXPECT_EQ(s.push("[ABCDEFGHIJKLMNOPQRSTUVWXYZ"), "[ABCDEFGHIJKLMNOPQRSTUVWXYZ");  // longer than any placeholder
}
