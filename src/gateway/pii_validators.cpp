#include "gateway/pii_validators.h"

#include "gateway/pii_chars.h"

#include <arpa/inet.h>

#include <algorithm>
#include <ctime>
#include <string>

namespace citadel::pii {

namespace {

bool all_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_digit); }
int number(std::string_view digits) {  // digits only, short
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

int this_year() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  return tm.tm_year + 1900;
}

}  // namespace

bool luhn_valid(std::string_view digits) {
  if (!all_digits(digits)) return false;
  int sum = 0;
  bool twice = false;  // every second digit from the right, the check digit itself not
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (twice && (d *= 2) > 9) d -= 9;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool bank_card_valid(std::string_view d) {
  const size_t n = d.size();
  if (n < 13 || n > 19 || !all_digits(d)) return false;
  const int p1 = d[0] - '0', p2 = number(d.substr(0, 2)), p3 = number(d.substr(0, 3)), p4 = number(d.substr(0, 4));
  bool scheme = false;
  if (p1 == 4) scheme = n == 13 || n == 16 || n == 19;                                   // Visa
  else if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) scheme = n == 16;       // Mastercard
  else if (p2 == 34 || p2 == 37) scheme = n == 15;                                       // Amex
  else if (p2 == 30 || p2 == 36 || p2 == 38 || p2 == 39) scheme = n >= 14;               // Diners
  else if (p4 >= 3528 && p4 <= 3589) scheme = n >= 16;                                   // JCB
  else if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 || p2 == 62) scheme = n >= 16;  // Discover, UnionPay
  else if (p2 == 50 || (p2 >= 56 && p2 <= 69)) scheme = true;                            // Maestro
  return scheme && luhn_valid(d);
}

bool valid_date(int year, int month, int day) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return false;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

char cn_id_check_char(std::string_view first17) {
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};  // 2^(17-i) mod 11
  static constexpr char kCheck[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return kCheck[sum % 11];
}

bool cn_id_shaped(std::string_view id) {
  if (id.size() < 17 || !all_digits(id.substr(0, 17))) return false;
  // Provinces (GB/T 2260), Taiwan, and the residence permits of Hong Kong, Macao and Taiwan residents.
  static constexpr int kProvinces[] = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44,
                                       45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83};
  const int province = number(id.substr(0, 2));
  if (std::find(std::begin(kProvinces), std::end(kProvinces), province) == std::end(kProvinces)) return false;
  const int year = number(id.substr(6, 4)), month = number(id.substr(10, 2)), day = number(id.substr(12, 2));
  return year >= 1900 && year <= this_year() && valid_date(year, month, day);
}

bool cn_id_valid(std::string_view id) {
  if (id.size() != 18 || !cn_id_shaped(id)) return false;
  const char last = id[17] == 'x' ? 'X' : id[17];
  return (last == 'X' || is_digit(last)) && cn_id_check_char(id.substr(0, 17)) == last;
}

int iban_length(std::string_view c) {
  struct Entry {
    char code[3];
    int length;
  };
  // The SWIFT IBAN registry.
  static constexpr Entry kRegistry[] = {
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22}, {"BH", 22},
      {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27},
      {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27},
      {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22},
      {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
      {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19},
      {"MN", 20}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
      {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31},
      {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23},
      {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30}};
  if (c.size() != 2) return 0;
  for (const Entry& e : kRegistry)
    if (e.code[0] == c[0] && e.code[1] == c[1]) return e.length;
  return 0;
}

bool iban_valid(std::string_view s) {
  if (s.size() < 15 || iban_length(s.substr(0, 2)) != static_cast<int>(s.size())) return false;
  if (!all_digits(s.substr(2, 2))) return false;
  const int check = number(s.substr(2, 2));
  if (check < 2 || check > 98) return false;
  // Mod 97 of BBAN + country + check digits, letters as 10..35, folded a digit at a time.
  int rem = 0;
  auto fold = [&rem](char c) {
    if (c >= '0' && c <= '9') {
      rem = (rem * 10 + (c - '0')) % 97;
    } else if (c >= 'A' && c <= 'Z') {
      rem = (rem * 100 + (c - 'A' + 10)) % 97;
    } else {
      rem = -1000;  // poisons the result
    }
  };
  for (char c : s.substr(4)) fold(c);
  for (char c : s.substr(0, 4)) fold(c);
  return rem == 1;
}

bool us_ssn_valid(int area, int group, int serial) {
  if (area <= 0 || area == 666 || area >= 900 || group <= 0 || group > 99 || serial <= 0 || serial > 9999) return false;
  if ((area == 78 && group == 5 && serial == 1120) || (area == 219 && group == 9 && serial == 9999)) return false;
  return true;
}

bool cn_mobile_valid(std::string_view d) {
  if (d.size() != 11 || !all_digits(d) || d[0] != '1') return false;
  const int seg = number(d.substr(0, 3));
  return (seg >= 130 && seg <= 139) || (seg >= 145 && seg <= 149) || (seg >= 150 && seg <= 153) ||
         (seg >= 155 && seg <= 159) || seg == 162 || (seg >= 165 && seg <= 167) || (seg >= 170 && seg <= 178) ||
         (seg >= 180 && seg <= 189) || (seg >= 190 && seg <= 193) || (seg >= 195 && seg <= 199);
}

bool cn_landline_valid(std::string_view area, std::string_view sub) {
  if (!all_digits(area) || !all_digits(sub) || sub[0] == '0') return false;
  if (area.size() == 2) {
    const int a = number(area);
    return (a == 10 || (a >= 20 && a <= 29 && a != 26)) && sub.size() == 8;
  }
  return area.size() == 3 && area[0] >= '3' && (sub.size() == 7 || sub.size() == 8);
}

bool nanp_valid(std::string_view d) {
  if (d.size() != 10 || !all_digits(d)) return false;
  auto part_ok = [](std::string_view p) { return p[0] >= '2' && !(p[1] == '1' && p[2] == '1'); };
  return part_ok(d.substr(0, 3)) && part_ok(d.substr(3, 3));
}

int country_code_length(std::string_view d) {
  if (d.empty() || !all_digits(d.substr(0, std::min<size_t>(3, d.size())))) return 0;
  if (d[0] == '1' || d[0] == '7') return 1;
  if (d.size() < 2) return 0;
  static constexpr int kTwo[] = {20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53,
                                 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94,
                                 95, 98};
  // Zones whose codes have three digits (211, 852, 971, ...).
  static constexpr int kThree[] = {21, 22, 23, 24, 25, 26, 29, 35, 37, 38, 42, 50, 59, 67, 68, 69, 80, 85, 87, 88, 96, 97, 99};
  const int two = number(d.substr(0, 2));
  if (std::find(std::begin(kTwo), std::end(kTwo), two) != std::end(kTwo)) return 2;
  if (d.size() >= 3 && std::find(std::begin(kThree), std::end(kThree), two) != std::end(kThree)) return 3;
  return 0;
}

bool ipv4_valid(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 4) ++i;
    const size_t len = i - start;
    if (len == 0 || len > 3 || (len > 1 && s[start] == '0') || number(s.substr(start, len)) > 255) return false;
    if (++parts == 4) return i == s.size();
    if (i >= s.size() || s[i] != '.') return false;
    ++i;
  }
}

bool ipv6_valid(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  const std::string z(s);  // inet_pton wants a terminated string
  in6_addr addr;
  return inet_pton(AF_INET6, z.c_str(), &addr) == 1;
}

bool email_valid(std::string_view s) {
  const size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || s.find('@', at + 1) != std::string_view::npos) return false;
  const std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return false;
  for (char c : local)
    if (!is_alnum(c) && c != '.' && c != '_' && c != '%' && c != '+' && c != '-') return false;
  if (domain.empty() || domain.size() > 253) return false;
  size_t labels = 0, start = 0;
  std::string_view last;
  while (start <= domain.size()) {
    size_t end = domain.find('.', start);
    if (end == std::string_view::npos) end = domain.size();
    const std::string_view label = domain.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-') return false;
    ++labels;
    last = label;
    start = end + 1;
  }
  if (labels < 2) return false;
  std::string tld;
  for (char c : last) tld += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (tld.rfind("xn--", 0) == 0) return tld.size() > 4;
  if (tld.size() < 2 || tld.size() > 24 || !std::all_of(tld.begin(), tld.end(), is_alpha)) return false;
  static constexpr std::string_view kFileExtensions[] = {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico",
                                                         "pdf", "txt", "csv", "json", "xml", "html", "htm", "js",
                                                         "css", "md", "doc", "docx", "xls", "xlsx", "ppt", "pptx",
                                                         "zip", "gz", "tar", "exe", "dll", "log", "py", "mp3", "mp4"};
  return std::find(std::begin(kFileExtensions), std::end(kFileExtensions), tld) == std::end(kFileExtensions);
}

}  // namespace citadel::pii
