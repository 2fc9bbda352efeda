// The checks that keep the PII detectors' false positives low: check digits, dates, registries of
// numbering plans. Each takes the bare characters (no separators) and never reads past its input.
#pragma once
#include <string_view>

namespace citadel::pii {

// Luhn (ISO/IEC 7812-1) over a string of ASCII digits; false for anything else.
bool luhn_valid(std::string_view digits);
// A card number (13-19 digits): an issuer range of a card scheme with a length that scheme uses
// (Visa 13/16/19, Mastercard 51-55 and 2221-2720 16, Amex 34/37 15, Diners 30/36/38/39 14-19,
// JCB 3528-3589 16-19, Discover 6011/644-649/65 16-19, UnionPay 62 16-19, Maestro 50/56-69 13-19)
// and the Luhn check.
bool bank_card_valid(std::string_view digits);

// Chinese resident identity number (GB 11643-1999): 17 digits and a check character (digit or
// X/x); a province code that exists, a real birth date from 1900 to this year, ISO 7064 MOD 11-2.
bool cn_id_valid(std::string_view id);
// The first 17 characters of an ID: digits, a province that exists, a real birth date from 1900 to
// this year (no check character). An 18-digit number of this shape that fails the check is a
// mistyped ID, and is not read as a card number.
bool cn_id_shaped(std::string_view first17);
// The MOD 11-2 check character ('0'-'9' or 'X') of 17 digits.
char cn_id_check_char(std::string_view first17);
bool valid_date(int year, int month, int day);

// IBAN (ISO 13616) without spaces, upper case: a country in the registry, its exact length,
// check digits 02-98 and mod-97 = 1.
bool iban_valid(std::string_view iban);
// The IBAN length of a two-letter country code, 0 for a country without IBANs.
int iban_length(std::string_view country);

// US Social Security Number parts: area not 000, 666 or 900-999; group not 00; serial not 0000;
// and not the numbers published in advertisements (078-05-1120, 219-09-9999).
bool us_ssn_valid(int area, int group, int serial);

// Chinese mobile: 11 digits in an allocated segment (130-139, 145-149, 150-153, 155-159, 162,
// 165-167, 170-178, 180-189, 190-193, 195-199).
bool cn_mobile_valid(std::string_view digits);
// Chinese landline without the trunk 0 ("10", "755"): 2-digit area 10/20-25/27-29 or a 3-digit
// area 3xx-9xx, then a 7- or 8-digit subscriber number (8 after a 2-digit area) not starting with 0.
// (Allocated numbers start 2-9; 1 is let through because "010-12345678" is how people write examples.)
bool cn_landline_valid(std::string_view area, std::string_view subscriber);
// NANP (+1) national number: 10 digits, area code and exchange [2-9]XX and not N11.
bool nanp_valid(std::string_view digits10);
// Length of the ITU country calling code that starts `digits` (1-3), 0 when none does.
int country_code_length(std::string_view digits);

// Dotted quad, each part 0-255 without leading zeros.
bool ipv4_valid(std::string_view text);
// RFC 4291 text form (full, compressed "::", or ending in a dotted quad), as inet_pton reads it.
bool ipv6_valid(std::string_view text);

// local@domain: local part of [A-Za-z0-9._%+-] (1-64, no leading, trailing or double dot),
// domain labels of [A-Za-z0-9-] (1-63, no leading or trailing '-'), two labels at least, and an
// alphabetic top-level label of 2-24 letters (or xn--) that is not a file extension (icon@2x.png).
bool email_valid(std::string_view text);

}  // namespace citadel::pii
