// PiiDetector on the cases that decide precision: boundaries in Chinese text, numbers inside longer
// runs, failed checks, groupings, overlaps, full-width forms, dictionaries and custom regexes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/pii.h"

using namespace citadel;

namespace {

// "TYPE:value" for each span, in order.
std::vector<std::string> found(const PiiDetector& d, std::string_view text) {
  std::vector<std::string> out;
  for (const PiiSpan& s : d.detect(text)) {
    EXPECT_EQ(s.value, text.substr(s.begin, s.end - s.begin));
    out.push_back(s.type + ":" + s.value);
  }
  return out;
}
using V = std::vector<std::string>;

const PiiDetector& builtin() {
  static const PiiDetector d;
  return d;
}

}  // namespace

TEST(PiiDetector, NumbersGluedToChineseAreFound) {
  EXPECT_EQ(found(builtin(), "电话13812345678联系"), V{"PHONE:13812345678"});
  EXPECT_EQ(found(builtin(), "身份证11010519491231002X的客户"), V{"CN_ID:11010519491231002X"});
  EXPECT_EQ(found(builtin(), "卡号4111111111111111，谢谢"), V{"BANK_CARD:4111111111111111"});
  EXPECT_EQ(found(builtin(), "转账到DE89370400440532013000失败"), V{"IBAN:DE89370400440532013000"});
  EXPECT_EQ(found(builtin(), "邮箱zhang.wei@163.com联系"), V{"EMAIL:zhang.wei@163.com"});
}

TEST(PiiDetector, NoShorterNumberInsideALongerRun) {
  EXPECT_TRUE(found(builtin(), "订单2013812345678901").empty());
  EXPECT_TRUE(found(builtin(), "编号813812345678").empty());
  EXPECT_TRUE(found(builtin(), "138123456789").empty());
  EXPECT_TRUE(found(builtin(), "41111111111111110").empty());
  EXPECT_TRUE(found(builtin(), "211010519491231002X").empty());
}

TEST(PiiDetector, FailedChecksAreLeftAlone) {
  EXPECT_TRUE(found(builtin(), "卡号4111111111111112无效").empty());
  EXPECT_TRUE(found(builtin(), "身份证110105194912310021").empty());
  EXPECT_TRUE(found(builtin(), "IBAN DE89370400440532013001").empty());
  EXPECT_TRUE(found(builtin(), "SSN 666-12-3456 and 123-00-4567").empty());
  EXPECT_TRUE(found(builtin(), "手机12812345678").empty());  // no 12x mobile segment
  EXPECT_TRUE(found(builtin(), "1234567812345670").empty());  // Luhn-valid, no card scheme
}

TEST(PiiDetector, CodesNumbersAndDatesAreNotPii) {
  EXPECT_TRUE(found(builtin(), "SF13812345678 EMP-852875 wxid_13812345678 A13812345678b").empty());
  EXPECT_TRUE(found(builtin(), "理财13812345678.50元，利率3.13812345678").empty());
  EXPECT_TRUE(found(builtin(), "2023-11-15 14:30:00, 20231115143000, 1700000000123, 1700000000").empty());
  EXPECT_TRUE(found(builtin(), "ISBN 978-7-111-54742-6, 550e8400-e29b-41d4-a716-446655440000").empty());
  EXPECT_TRUE(found(builtin(), "400-820-8820, 95588, 138****5678, 6222 **** **** 1234").empty());
  EXPECT_TRUE(found(builtin(), "v1.2.3.4, 10.0.19041.1, 1.2.3, 1.2.3.4.5, 256.1.1.1").empty());
  EXPECT_TRUE(found(builtin(), "Assembly version 1.0.0.0 / 1.0.0.0版本").empty());
  EXPECT_TRUE(found(builtin(), "12:30:45 00:1A:2B:3C:4D:5E std::map a::b 1::").empty());
  EXPECT_TRUE(found(builtin(), "user@localhost icon@2x.png a..b@example.com a@b@example.com").empty());
}

TEST(PiiDetector, GroupedForms) {
  EXPECT_EQ(found(builtin(), "card 4111 1111 1111 1111."), V{"BANK_CARD:4111 1111 1111 1111"});
  EXPECT_EQ(found(builtin(), "card 4111-1111-1111-1111"), V{"BANK_CARD:4111-1111-1111-1111"});
  EXPECT_EQ(found(builtin(), "amex 3782 822463 10005"), V{"BANK_CARD:3782 822463 10005"});
  EXPECT_EQ(found(builtin(), "卡号6222 0212 3456 7890 128"), V{"BANK_CARD:6222 0212 3456 7890 128"});
  EXPECT_EQ(found(builtin(), "ID 110105 19491231 002X"), V{"CN_ID:110105 19491231 002X"});
  EXPECT_EQ(found(builtin(), "IBAN: GB82 WEST 1234 5698 7654 32."), V{"IBAN:GB82 WEST 1234 5698 7654 32"});
  EXPECT_EQ(found(builtin(), "SSN 123-45-6789 / 123 45 6789"), (V{"US_SSN:123-45-6789", "US_SSN:123 45 6789"}));
  // Mixed separators do not make a card: a date, then a phone.
  EXPECT_EQ(found(builtin(), "2023-11-15 138 1234 5678"), V{"PHONE:138 1234 5678"});
}

TEST(PiiDetector, PhoneForms) {
  const V want = {"PHONE:138-1234-5678", "PHONE:+86 138 1234 5678", "PHONE:+8613812345678",
                  "PHONE:0086 13812345678", "PHONE:0086-138-1234-5678"};
  EXPECT_EQ(found(builtin(), "138-1234-5678；+86 138 1234 5678；+8613812345678；0086 13812345678；0086-138-1234-5678"), want);
  EXPECT_EQ(found(builtin(), "座机010-12345678，(0755)1234567，0571 88886666，+86 10 12345678"),
            (V{"PHONE:010-12345678", "PHONE:(0755)1234567", "PHONE:0571 88886666", "PHONE:+86 10 12345678"}));
  EXPECT_EQ(found(builtin(), "Call +44 20 7946 0958 or +1 (212) 555-0123 or (415) 555-0199 or +44 (0)20 7946 0958"),
            (V{"PHONE:+44 20 7946 0958", "PHONE:+1 (212) 555-0123", "PHONE:(415) 555-0199", "PHONE:+44 (0)20 7946 0958"}));
  EXPECT_EQ(found(builtin(), "13812345678/13912345678,13712345678"),
            (V{"PHONE:13812345678", "PHONE:13912345678", "PHONE:13712345678"}));
  EXPECT_EQ(found(builtin(), "https://example.com/u/13812345678"), V{"PHONE:13812345678"});
  EXPECT_TRUE(found(builtin(), "+28 1234 5678 9, +1 (211) 555-0123, 1+13812345678x").empty());
}

TEST(PiiDetector, SsnWithoutDashesOnlyUnderItsLabel) {
  EXPECT_EQ(found(builtin(), "Applicant SSN: 123456789"), V{"US_SSN:123456789"});
  EXPECT_TRUE(found(builtin(), "Reference 123456789").empty());
}

TEST(PiiDetector, IpAddresses) {
  EXPECT_EQ(found(builtin(), "ip=10.0.0.1:8080 and [2001:db8::1]:443, ::1."),
            (V{"IP:10.0.0.1", "IP:2001:db8::1", "IP:::1"}));
  EXPECT_EQ(found(builtin(), "IP:fe80::1ff:fe23:4567:890a; mapped ::ffff:192.0.2.128"),
            (V{"IP:fe80::1ff:fe23:4567:890a", "IP:::ffff:192.0.2.128"}));
  EXPECT_EQ(found(builtin(), "服务器192.168.1.20宕机"), V{"IP:192.168.1.20"});
}

TEST(PiiDetector, OverlapsKeepTheWholeValue) {
  EXPECT_EQ(found(builtin(), "13812345678@139.com"), V{"EMAIL:13812345678@139.com"});
  EXPECT_EQ(found(builtin(), "mail: John.Smith@Example.COM."), V{"EMAIL:John.Smith@Example.COM"});
}

TEST(PiiDetector, FullWidthForms) {
  // Full-width digits are found; the span covers the original bytes.
  EXPECT_EQ(found(builtin(), "手机号：１３８１２３４５６７８，谢谢"), V{"PHONE:１３８１２３４５６７８"});
  EXPECT_EQ(found(builtin(), "身份证１１０１０５１９４９１２３１００２Ｘ"), V{"CN_ID:１１０１０５１９４９１２３１００２Ｘ"});
  EXPECT_EQ(found(builtin(), "电话（010）12345678"), V{"PHONE:（010）12345678"});
}

TEST(PiiDetector, DictionariesAndRegexes) {
  PiiConfig c;
  c.dictionaries.push_back({"NAME", {}, {"John Smith", "张伟", "Anna Müller"}, false});
  c.dictionaries.push_back({"PROJECT", {}, {"BlueHarbor"}, true});
  c.regexes.push_back({"EMPLOYEE_ID", "EMP-\\d{6}"});
  const PiiDetector d(c);
  EXPECT_EQ(found(d, "客户张伟的经理john smith"), (V{"NAME:张伟", "NAME:john smith"}));
  EXPECT_TRUE(found(d, "John Smithson, AJohn Smith, blueharbor").empty());
  EXPECT_EQ(found(d, "Anna Müller runs BlueHarbor, EMP-123456."),
            (V{"NAME:Anna Müller", "PROJECT:BlueHarbor", "EMPLOYEE_ID:EMP-123456"}));
  EXPECT_EQ(d.types(), (V{"EMAIL", "PHONE", "CN_ID", "BANK_CARD", "IBAN", "US_SSN", "IP", "NAME", "PROJECT", "EMPLOYEE_ID"}));
}

TEST(PiiDetector, EnabledDetectorsOnly) {
  PiiConfig c;
  c.detectors = {"email", "cn_id"};
  const PiiDetector d(c);
  EXPECT_EQ(found(d, "13812345678 a@example.com 11010519491231002X 4111111111111111 10.0.0.1"),
            (V{"EMAIL:a@example.com", "CN_ID:11010519491231002X"}));
  EXPECT_EQ(d.types(), (V{"EMAIL", "CN_ID"}));
}

TEST(PiiDetector, AnyBytesAreSafe) {
  PiiConfig c;
  c.regexes.push_back({"CODE", "K\\d+"});
  const PiiDetector d(c);
  const std::string bad = std::string("K12 \xff\xfe 13812345678 \xe4\xb8") + " K34 \xc3";
  EXPECT_EQ(found(d, bad), (V{"CODE:K12", "PHONE:13812345678", "CODE:K34"}));
  EXPECT_TRUE(found(d, "").empty());
  EXPECT_TRUE(found(d, std::string(1, '\0')).empty());
  // Long runs of separators and digits stay linear and find nothing.
  std::string long_run;
  for (int i = 0; i < 20000; ++i) long_run += "1 ";
  EXPECT_TRUE(found(d, long_run).empty());
}
