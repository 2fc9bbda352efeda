// The PII validators on published reference values and on the ways they must fail.
#include <gtest/gtest.h>

#include "gateway/pii_validators.h"

using namespace citadel::pii;

TEST(PiiValidators, Luhn) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));   // Visa test number
  EXPECT_TRUE(luhn_valid("79927398713"));        // the textbook example
  EXPECT_FALSE(luhn_valid("79927398710"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_FALSE(luhn_valid("4111 1111 1111 1111"));  // digits only
  EXPECT_FALSE(luhn_valid(""));
}

TEST(PiiValidators, BankCardSchemesAndLengths) {
  EXPECT_TRUE(bank_card_valid("4111111111111111"));     // Visa 16
  EXPECT_TRUE(bank_card_valid("4222222222222"));        // Visa 13
  EXPECT_TRUE(bank_card_valid("5555555555554444"));     // Mastercard
  EXPECT_TRUE(bank_card_valid("2223003122003222"));     // Mastercard 2-series
  EXPECT_TRUE(bank_card_valid("378282246310005"));      // Amex 15
  EXPECT_TRUE(bank_card_valid("6011111111111117"));     // Discover
  EXPECT_TRUE(bank_card_valid("3530111333300000"));     // JCB
  EXPECT_TRUE(bank_card_valid("6212345678901265"));     // UnionPay 16
  EXPECT_TRUE(bank_card_valid("6222021234567890128"));  // UnionPay 19 (ICBC BIN)
  EXPECT_TRUE(bank_card_valid("36227206271667"));       // Diners 14
  EXPECT_FALSE(bank_card_valid("3782822463100052"));   // Luhn-valid, but Amex is 15 digits
  EXPECT_FALSE(bank_card_valid("1234567812345670"));    // Luhn-valid, no scheme starts with 1
  EXPECT_FALSE(bank_card_valid("8000000000000003"));    // nor 8
  EXPECT_FALSE(bank_card_valid("555555555555442"));     // Mastercard is 16
  EXPECT_FALSE(bank_card_valid("411111111111"));        // too short
  EXPECT_FALSE(bank_card_valid("41111111111111111111")); // too long
  EXPECT_FALSE(bank_card_valid("4111111111111112"));    // Luhn fails
}

TEST(PiiValidators, ChineseIdCheckDateAndRegion) {
  EXPECT_EQ(cn_id_check_char("11010519491231002"), 'X');  // GB 11643-1999's example
  EXPECT_TRUE(cn_id_valid("11010519491231002X"));
  EXPECT_TRUE(cn_id_valid("11010519491231002x"));
  EXPECT_EQ(cn_id_check_char("44030519751119095"), '3');
  EXPECT_TRUE(cn_id_valid("440305197511190953"));
  EXPECT_FALSE(cn_id_valid("440305197511190954"));  // wrong check digit
  EXPECT_FALSE(cn_id_valid("11010519491231002Y"));
  // A check digit fitted to an impossible date or region still fails.
  const std::string feb30 = "11010519900230123";
  EXPECT_FALSE(cn_id_valid(feb30 + cn_id_check_char(feb30)));
  const std::string region99 = "99010519900101123";
  EXPECT_FALSE(cn_id_valid(region99 + cn_id_check_char(region99)));
  const std::string future = "11010530000101123";
  EXPECT_FALSE(cn_id_valid(future + cn_id_check_char(future)));
  const std::string y1899 = "11010518991231123";
  EXPECT_FALSE(cn_id_valid(y1899 + cn_id_check_char(y1899)));
  const std::string leap = "11010520000229123";  // 2000 is a leap year, 1900 is not
  EXPECT_TRUE(cn_id_valid(leap + cn_id_check_char(leap)));
  const std::string not_leap = "11010519000229123";
  EXPECT_FALSE(cn_id_valid(not_leap + cn_id_check_char(not_leap)));
  EXPECT_FALSE(cn_id_valid("1101051949123100X"));  // 17 characters
  EXPECT_TRUE(cn_id_shaped("11010519491231002"));
  EXPECT_FALSE(cn_id_shaped("11010519491232002"));
}

TEST(PiiValidators, Iban) {
  EXPECT_TRUE(iban_valid("DE89370400440532013000"));
  EXPECT_TRUE(iban_valid("GB82WEST12345698765432"));
  EXPECT_TRUE(iban_valid("FR1420041010050500013M02606"));
  EXPECT_TRUE(iban_valid("NO9386011117947"));  // the shortest
  EXPECT_TRUE(iban_valid("CH9300762011623852957"));
  EXPECT_FALSE(iban_valid("DE89370400440532013001"));  // mod-97 fails
  EXPECT_FALSE(iban_valid("DE98370400440532013000"));  // swapped check digits
  EXPECT_FALSE(iban_valid("DE8937040044053201300"));   // one short for DE
  EXPECT_FALSE(iban_valid("XX89370400440532013000"));  // no such country
  EXPECT_FALSE(iban_valid("gb82west12345698765432"));  // lower case is not read here
  EXPECT_EQ(iban_length("DE"), 22);
  EXPECT_EQ(iban_length("US"), 0);
}

TEST(PiiValidators, UsSsn) {
  EXPECT_TRUE(us_ssn_valid(123, 45, 6789));
  EXPECT_TRUE(us_ssn_valid(1, 1, 1));
  EXPECT_FALSE(us_ssn_valid(0, 45, 6789));
  EXPECT_FALSE(us_ssn_valid(666, 45, 6789));
  EXPECT_FALSE(us_ssn_valid(900, 45, 6789));
  EXPECT_FALSE(us_ssn_valid(123, 0, 6789));
  EXPECT_FALSE(us_ssn_valid(123, 45, 0));
  EXPECT_FALSE(us_ssn_valid(78, 5, 1120));  // the Woolworth wallet card
}

TEST(PiiValidators, Phones) {
  EXPECT_TRUE(cn_mobile_valid("13812345678"));
  EXPECT_TRUE(cn_mobile_valid("19912345678"));
  EXPECT_FALSE(cn_mobile_valid("12812345678"));   // no 12x segment
  EXPECT_FALSE(cn_mobile_valid("15412345678"));   // 154 is not allocated
  EXPECT_FALSE(cn_mobile_valid("1381234567"));
  EXPECT_TRUE(cn_landline_valid("10", "12345678"));
  EXPECT_TRUE(cn_landline_valid("755", "1234567"));
  EXPECT_TRUE(cn_landline_valid("755", "12345678"));
  EXPECT_FALSE(cn_landline_valid("10", "1234567"));   // 2-digit areas have 8-digit numbers
  EXPECT_TRUE(cn_landline_valid("10", "12345678"));
  EXPECT_FALSE(cn_landline_valid("10", "02345678"));  // no subscriber number starts with 0
  EXPECT_FALSE(cn_landline_valid("26", "12345678"));
  EXPECT_TRUE(nanp_valid("2125550123"));
  EXPECT_FALSE(nanp_valid("1125550123"));
  EXPECT_FALSE(nanp_valid("2115550123"));  // N11
  EXPECT_FALSE(nanp_valid("2124110123"));
  EXPECT_EQ(country_code_length("8613812345678"), 2);
  EXPECT_EQ(country_code_length("12125550123"), 1);
  EXPECT_EQ(country_code_length("85212345678"), 3);
  EXPECT_EQ(country_code_length("2800000000"), 0);  // 28 is unassigned
}

TEST(PiiValidators, IpAddresses) {
  EXPECT_TRUE(ipv4_valid("192.168.1.1"));
  EXPECT_TRUE(ipv4_valid("0.0.0.0"));
  EXPECT_TRUE(ipv4_valid("255.255.255.255"));
  EXPECT_FALSE(ipv4_valid("256.1.1.1"));
  EXPECT_FALSE(ipv4_valid("192.168.01.1"));  // leading zero
  EXPECT_FALSE(ipv4_valid("1.2.3"));
  EXPECT_FALSE(ipv4_valid("1.2.3.4.5"));
  EXPECT_FALSE(ipv4_valid("1.2.3.4."));
  EXPECT_TRUE(ipv6_valid("2001:db8::1"));
  EXPECT_TRUE(ipv6_valid("::1"));
  EXPECT_TRUE(ipv6_valid("2001:0db8:85a3:0000:0000:8a2e:0370:7334"));
  EXPECT_TRUE(ipv6_valid("::ffff:192.0.2.128"));
  EXPECT_FALSE(ipv6_valid("2001:db8:::1"));
  EXPECT_FALSE(ipv6_valid("12:30:45"));
  EXPECT_FALSE(ipv6_valid("00:1A:2B:3C:4D:5E"));
  EXPECT_FALSE(ipv6_valid("1:2:3:4:5:6:7:8:9"));
}

TEST(PiiValidators, Email) {
  EXPECT_TRUE(email_valid("zhang.wei@163.com"));
  EXPECT_TRUE(email_valid("sarah+bank@mail.example.co.uk"));
  EXPECT_TRUE(email_valid("13812345678@139.com"));
  EXPECT_TRUE(email_valid("user@example.xn--fiqs8s"));
  EXPECT_FALSE(email_valid("user@localhost"));
  EXPECT_FALSE(email_valid("a..b@example.com"));
  EXPECT_FALSE(email_valid(".a@example.com"));
  EXPECT_FALSE(email_valid("a@-example.com"));
  EXPECT_FALSE(email_valid("a@example.c"));
  EXPECT_FALSE(email_valid("a@example.123"));
  EXPECT_FALSE(email_valid("icon@2x.png"));  // a file name
  EXPECT_FALSE(email_valid("a@b@example.com"));
  EXPECT_FALSE(email_valid("@example.com"));
}

TEST(PiiValidators, Dates) {
  EXPECT_TRUE(valid_date(2024, 2, 29));
  EXPECT_FALSE(valid_date(2023, 2, 29));
  EXPECT_FALSE(valid_date(2100, 2, 29));
  EXPECT_FALSE(valid_date(2023, 4, 31));
  EXPECT_FALSE(valid_date(2023, 13, 1));
  EXPECT_FALSE(valid_date(2023, 1, 0));
}
