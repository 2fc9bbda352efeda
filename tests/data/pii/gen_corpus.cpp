// Generates the labelled PII corpus (corpus.jsonl) deterministically. It shares no code with the
// detector: the check digits (Luhn, ISO 7064 MOD 11-2, IBAN mod-97) are computed here on their own,
// and the near misses are made the way real data makes them (a digit mistyped, a date that does
// not exist, order numbers, timestamps, versions, prices), not from the detector's rules.
//
//   g++ -std=c++20 -O1 tests/data/pii/gen_corpus.cpp -o /tmp/gen_corpus
//   /tmp/gen_corpus > tests/data/pii/corpus.jsonl
//
// One JSON object per line: {"text": "...", "pii": [["TYPE", "exact substring"], ...]}. A value that
// occurs twice in a text is listed twice. Types: PHONE, CN_ID, BANK_CARD, IBAN, US_SSN, EMAIL, IP,
// NAME (the names of names.txt), EMPLOYEE_ID (the test's custom regex EMP-dddddd).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

std::mt19937_64 rng(20240517);  // the engine's sequence is fixed by the standard
size_t pick(size_t n) { return static_cast<size_t>(rng() % n); }
int range(int lo, int hi) { return lo + static_cast<int>(pick(static_cast<size_t>(hi - lo + 1))); }
template <class T>
const T& one_of(const std::vector<T>& v) { return v[pick(v.size())]; }
std::string digits(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>('0' + pick(10));
  return s;
}
std::string pad(int v, int width) {
  std::string s = std::to_string(v);
  while (static_cast<int>(s.size()) < width) s = "0" + s;
  return s;
}

// ---- check digits, written from the standards ----
char luhn_digit(const std::string& body) {  // the digit that makes body+digit pass Luhn
  int sum = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    int d = body[body.size() - 1 - i] - '0';
    if (i % 2 == 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;  // doubled: every second digit from the check digit
    sum += d;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}
char mod11_2(const std::string& body17) {  // GB 11643-1999
  static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static const char map[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
  int s = 0;
  for (int i = 0; i < 17; ++i) s += (body17[i] - '0') * w[i];
  return map[s % 11];
}
int mod97(const std::string& numeric) {
  int r = 0;
  for (char c : numeric) r = (r * 10 + (c - '0')) % 97;
  return r;
}
std::string iban_numeric(const std::string& s) {
  std::string out;
  for (char c : s) out += (c >= 'A' && c <= 'Z') ? std::to_string(c - 'A' + 10) : std::string(1, c);
  return out;
}
bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in(int y, int m) {
  static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : d[m - 1];
}

// ---- true values ----
std::string cn_mobile() {
  static const std::vector<std::string> seg = {"130", "131", "132", "133", "134", "135", "136", "137", "138",
                                               "139", "147", "150", "151", "152", "153", "155", "156", "157",
                                               "158", "159", "166", "170", "171", "173", "175", "176", "177",
                                               "178", "180", "181", "182", "183", "184", "185", "186", "187",
                                               "188", "189", "191", "193", "195", "198", "199"};
  return one_of(seg) + digits(8);
}
std::string cn_mobile_formatted(const std::string& m) {
  switch (pick(8)) {
    case 0: return m.substr(0, 3) + " " + m.substr(3, 4) + " " + m.substr(7);
    case 1: return m.substr(0, 3) + "-" + m.substr(3, 4) + "-" + m.substr(7);
    case 2: return "+86 " + m;
    case 3: return "+86" + m;
    case 4: return "+86 " + m.substr(0, 3) + " " + m.substr(3, 4) + " " + m.substr(7);
    default: return m;
  }
}
std::string subscriber(int n) { return std::to_string(range(2, 9)) + digits(n - 1); }
std::string cn_landline() {
  static const std::vector<std::string> two = {"010", "020", "021", "022", "023", "024", "025", "027", "028", "029"};
  static const std::vector<std::string> three = {"0755", "0571", "0512", "0531", "0351", "0871", "0991",
                                                 "0431", "0592", "0769", "0898", "0311", "0371", "0731"};
  std::string area, sub;
  if (pick(2)) {
    area = one_of(two), sub = subscriber(8);
  } else {
    area = one_of(three), sub = subscriber(pick(3) ? 8 : 7);
  }
  switch (pick(6)) {
    case 0: return "(" + area + ")" + sub;
    case 1: return "(" + area + ") " + sub;
    case 2: return area + " " + sub;
    case 3: return "+86 " + area.substr(1) + " " + sub;
    default: return area + "-" + sub;
  }
}
// NANP: area code and exchange start with 2-9 and are not N11 (211, 311, ... are service codes).
std::string nanp3() {
  for (;;) {
    const int v = range(200, 999);
    if (v % 100 != 11) return std::to_string(v);
  }
}
std::string us_local_phone() { return "(" + nanp3() + ") " + nanp3() + "-" + digits(4); }
std::string intl_phone() {
  switch (pick(9)) {
    case 0: return "+44 20 " + pad(range(7000, 8999), 4) + " " + digits(4);
    case 1: return "+49 30 " + subscriber(8);
    case 2: return "+33 1 " + digits(2) + " " + digits(2) + " " + digits(2) + " " + digits(2);
    case 3: return "+81 3-" + pad(range(1000, 9999), 4) + "-" + digits(4);
    case 4: return "+1 " + nanp3() + "-" + nanp3() + "-" + digits(4);
    case 5: return "+1 (" + nanp3() + ") " + nanp3() + "-" + digits(4);
    case 6: return "+65 " + std::to_string(range(6, 9)) + digits(3) + " " + digits(4);
    case 7: return "+852 " + std::to_string(range(5, 9)) + digits(3) + " " + digits(4);
    default: return "+7 495 " + digits(3) + "-" + digits(2) + "-" + digits(2);
  }
}

const std::vector<std::string> kRegions = {
    "110101", "110105", "110108", "120101", "130102", "140105", "150102", "210102", "220102", "230103",
    "310104", "310115", "320102", "320505", "330106", "340104", "350203", "360102", "370102", "410105",
    "420106", "430104", "440106", "440305", "450103", "460105", "500103", "510107", "520102", "530102",
    "540102", "610113", "620102", "630104", "640104", "650102"};
std::string birth_date(int lo = 1940, int hi = 2012) {
  const int y = range(lo, hi), m = range(1, 12), d = range(1, days_in(y, m));
  return pad(y, 4) + pad(m, 2) + pad(d, 2);
}
std::string cn_id_body() { return one_of(kRegions) + birth_date() + digits(3); }
std::string cn_id() {
  const std::string b = cn_id_body();
  return b + mod11_2(b);
}
std::string cn_id_with_x() {  // about one in eleven has X: make sure the corpus has enough
  for (;;) {
    const std::string b = cn_id_body();
    if (mod11_2(b) == 'X') return b + (pick(4) ? 'X' : 'x');
  }
}
std::string cn_id_formatted(const std::string& id) {
  return pick(5) ? id : id.substr(0, 6) + " " + id.substr(6, 8) + " " + id.substr(14);
}

std::string card_number() {
  static const std::vector<std::pair<std::string, int>> bins = {
      {"622202", 19}, {"622848", 19}, {"621700", 19}, {"622588", 16}, {"621226", 19}, {"436742", 16},
      {"625807", 16}, {"622609", 16}, {"4", 16},      {"4", 13},      {"51", 16},     {"53", 16},
      {"55", 16},     {"2221", 16},   {"2720", 16},   {"34", 15},     {"37", 15},     {"3528", 16},
      {"6011", 16},   {"65", 16},     {"62", 17},     {"62", 18},     {"36", 14}};
  auto [bin, len] = one_of(bins);
  if (bin == "3528") bin = std::to_string(range(3528, 3589));  // JCB
  const std::string body = bin + digits(len - 1 - static_cast<int>(bin.size()));
  return body + luhn_digit(body);
}
std::string grouped(const std::string& s, char sep, const std::vector<int>& sizes) {
  std::string out;
  size_t at = 0;
  for (int n : sizes) {
    if (at >= s.size()) break;
    if (!out.empty()) out += sep;
    out += s.substr(at, n);
    at += n;
  }
  if (at < s.size()) out += sep + s.substr(at);
  return out;
}
std::string card_formatted(const std::string& c) {
  const int k = static_cast<int>(pick(6));
  if (k >= 3) return c;
  const char sep = k == 2 ? '-' : ' ';
  if (c.size() == 15) return grouped(c, sep, {4, 6, 5});
  if (c.size() == 14) return grouped(c, sep, {4, 6, 4});
  return grouped(c, sep, {4, 4, 4, 4});
}

struct IbanFormat {
  std::string country;
  std::string bban;  // n = digit, a = upper letter, c = either
};
const std::vector<IbanFormat> kIbans = {
    {"DE", "nnnnnnnnnnnnnnnnnn"}, {"GB", "aaaannnnnnnnnnnnnn"}, {"FR", "nnnnnnnnnncccccccccccnn"},
    {"ES", "nnnnnnnnnnnnnnnnnnnn"}, {"IT", "annnnnnnnnncccccccccccc"}, {"NL", "aaaannnnnnnnnn"},
    {"BE", "nnnnnnnnnnnn"}, {"CH", "nnnnncccccccccccc"}, {"AT", "nnnnnnnnnnnnnnnn"},
    {"PL", "nnnnnnnnnnnnnnnnnnnnnnnn"}, {"SE", "nnnnnnnnnnnnnnnnnnnn"}, {"NO", "nnnnnnnnnnn"},
    {"DK", "nnnnnnnnnnnnnn"}, {"IE", "aaaannnnnnnnnnnnnn"}, {"PT", "nnnnnnnnnnnnnnnnnnnnn"},
    {"LU", "nnnccccccccccccc"}, {"SA", "nncccccccccccccccccc"}, {"AE", "nnnnnnnnnnnnnnnnnnn"},
    {"TR", "nnnnnncccccccccccccccc"}, {"GR", "nnnnnnncccccccccccccccc"}};
// Total lengths from the SWIFT IBAN registry, typed apart from the formats above as a check on them.
int registry_length(const std::string& c) {
  static const std::vector<std::pair<std::string, int>> lengths = {
      {"DE", 22}, {"GB", 22}, {"FR", 27}, {"ES", 24}, {"IT", 27}, {"NL", 18}, {"BE", 16}, {"CH", 21}, {"AT", 20}, {"PL", 28},
      {"SE", 24}, {"NO", 15}, {"DK", 18}, {"IE", 22}, {"PT", 25}, {"LU", 20}, {"SA", 24}, {"AE", 23}, {"TR", 26}, {"GR", 27}};
  for (const auto& [k, v] : lengths)
    if (k == c) return v;
  return 0;
}
std::string iban_compact() {
  const auto& f = one_of(kIbans);
  if (static_cast<int>(f.bban.size()) + 4 != registry_length(f.country)) {
    std::fprintf(stderr, "IBAN format of %s has the wrong length\n", f.country.c_str());
    std::exit(1);
  }
  std::string bban;
  for (char t : f.bban) {
    if (t == 'n' || (t == 'c' && pick(3))) bban += static_cast<char>('0' + pick(10));
    else bban += static_cast<char>('A' + pick(26));
  }
  const int check = 98 - mod97(iban_numeric(bban + f.country + "00"));
  return f.country + pad(check, 2) + bban;
}
std::string iban_formatted(const std::string& i) { return pick(2) ? i : grouped(i, ' ', {4, 4, 4, 4, 4, 4, 4, 4}); }

std::string ssn() {
  int area;
  do area = range(1, 899);
  while (area == 666);
  const std::string s = pad(area, 3) + pad(range(1, 99), 2) + pad(range(1, 9999), 4);
  const char sep = pick(4) ? '-' : ' ';
  return s.substr(0, 3) + sep + s.substr(3, 2) + sep + s.substr(5);
}

std::string email() {
  static const std::vector<std::string> users = {"zhang.wei", "li_na88", "wangfang", "john.smith", "m.johnson",
                                                 "chen-jing", "liu.yang2021", "sarah+bank", "r.brown",
                                                 "zhao_min", "e.davis", "huang.lei", "service.desk", "kevin.wu"};
  static const std::vector<std::string> domains = {"163.com", "qq.com", "126.com", "example.com", "mail.example.co.uk",
                                                   "corp.example.cn", "gmail.com", "outlook.com", "bank-of-example.com.cn",
                                                   "sina.cn", "example.org"};
  if (pick(12) == 0) return cn_mobile() + "@139.com";
  if (pick(10) == 0) return digits(9) + "@qq.com";
  return one_of(users) + (pick(3) ? "" : std::to_string(range(1, 99))) + "@" + one_of(domains);
}

std::string ipv4() {
  switch (pick(5)) {
    case 0: return "10." + std::to_string(range(0, 255)) + "." + std::to_string(range(0, 255)) + "." + std::to_string(range(1, 254));
    case 1: return "192.168." + std::to_string(range(0, 255)) + "." + std::to_string(range(1, 254));
    case 2: return "172." + std::to_string(range(16, 31)) + "." + std::to_string(range(0, 255)) + "." + std::to_string(range(1, 254));
    default:
      return std::to_string(range(1, 223)) + "." + std::to_string(range(0, 255)) + "." + std::to_string(range(0, 255)) + "." +
             std::to_string(range(1, 254));
  }
}
std::string hex4() {
  static const char* h = "0123456789abcdef";
  std::string s;
  const int n = range(1, 4);
  s += h[range(1, 15)];
  for (int i = 1; i < n; ++i) s += h[pick(16)];
  return s;
}
std::string ipv6() {
  switch (pick(6)) {
    case 0: return "2001:db8::" + hex4();
    case 1: return "fe80::" + hex4() + ":" + hex4() + ":" + hex4() + ":" + hex4();
    case 2: return "2001:0db8:85a3:0000:0000:8a2e:0370:" + pad(range(1000, 9999), 4);
    case 3: return "::ffff:192.0.2." + std::to_string(range(1, 254));
    case 4: return "2409:8a1e:" + hex4() + ":" + hex4() + "::" + hex4();
    default: return "240e:" + hex4() + ":" + hex4() + ":" + hex4() + ":" + hex4() + ":" + hex4() + ":" + hex4() + ":" + hex4();
  }
}

const std::vector<std::string> kNames = {"张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄晓明", "周婷",
                                         "吴刚", "徐丽", "孙浩", "马超", "朱琳", "胡军", "郭涛", "欧阳娜娜",
                                         "John Smith", "Mary Johnson", "Robert Brown", "Emily Davis",
                                         "Michael Chen", "Wei Zhang", "Anna Müller"};
std::string employee_id() { return "EMP-" + digits(6); }

// ---- near misses: not PII, or PII with a broken check ----
std::string bad_card() {  // a real-looking card number with one digit mistyped: Luhn fails
  std::string c = card_number();
  const size_t i = pick(c.size());
  c[i] = static_cast<char>('0' + (c[i] - '0' + range(1, 9)) % 10);
  return pick(3) ? c : card_formatted(c);
}
std::string bad_cn_id() {
  std::string id = cn_id();
  switch (pick(4)) {
    case 0: {  // wrong check character
      const char right = id[17];
      const std::string others = "0123456789X";
      do id[17] = others[pick(others.size())];
      while (id[17] == right);
      return id;
    }
    case 1: {  // a digit of the body mistyped (the check no longer fits)
      const size_t i = 14 + pick(3);
      id[i] = static_cast<char>('0' + (id[i] - '0' + range(1, 9)) % 10);
      const std::string b = id.substr(0, 17);
      return mod11_2(b) == id[17] ? bad_cn_id() : id;
    }
    case 2: {  // a date that does not exist, check digit fitted to it
      const std::string b = one_of(kRegions) + pad(range(1950, 2005), 4) + one_of(std::vector<std::string>{"0230", "0431", "1301", "0000", "1232"}) + digits(3);
      return b + mod11_2(b);
    }
    default: {  // a region code that does not exist, check digit fitted
      const std::string b = one_of(std::vector<std::string>{"00", "19", "27", "39", "48", "55", "68", "77", "80", "96"}) + digits(4) + birth_date() + digits(3);
      return b + mod11_2(b);
    }
  }
}
std::string bad_iban() {
  std::string i = iban_compact();
  if (pick(2)) {  // two neighbouring characters swapped (mod-97 catches every such swap of different chars)
    size_t p;
    do p = 4 + pick(i.size() - 5);
    while (i[p] == i[p + 1]);
    std::swap(i[p], i[p + 1]);
  } else {
    i[2] = i[2] == '9' ? '1' : static_cast<char>(i[2] + 1);  // wrong check digits
  }
  return pick(2) ? i : grouped(i, ' ', {4, 4, 4, 4, 4, 4, 4, 4});
}
std::string bad_ssn() {
  switch (pick(5)) {
    case 0: return "000-" + pad(range(1, 99), 2) + "-" + pad(range(1, 9999), 4);
    case 1: return "666-" + pad(range(1, 99), 2) + "-" + pad(range(1, 9999), 4);
    case 2: return std::to_string(range(900, 999)) + "-" + pad(range(1, 99), 2) + "-" + pad(range(1, 9999), 4);
    case 3: return pad(range(1, 665), 3) + "-00-" + pad(range(1, 9999), 4);
    default: return pad(range(1, 665), 3) + "-" + pad(range(1, 99), 2) + "-0000";
  }
}
std::string not_a_mobile() {  // 11 digits that no mobile segment uses, or a mobile inside a longer run
  switch (pick(5)) {
    case 0: return "1" + std::to_string(range(0, 2)) + digits(9);
    case 1: return "154" + digits(8);
    case 2: return digits(1 + pick(3)) + cn_mobile();
    case 3: return cn_mobile() + digits(1 + pick(3));
    default: return cn_mobile().substr(0, 10);
  }
}
std::string order_number() {
  switch (pick(7)) {
    case 0: return "2023" + pad(range(1, 12), 2) + pad(range(1, 28), 2) + digits(10);
    case 1: return "2024" + pad(range(1, 12), 2) + pad(range(1, 28), 2) + digits(8);
    case 2: return "E" + digits(15);
    case 3: return "DD" + digits(14);
    case 4: return "SO-" + digits(6) + "-" + digits(4);
    case 5: return std::to_string(range(1, 9)) + digits(15);  // random 16 digits: may pass Luhn by chance
    default: return digits(range(19, 22));
  }
}
std::string tracking() {
  switch (pick(4)) {
    case 0: return "SF" + digits(12);
    case 1: return "YT" + digits(13);
    case 2: return "7" + digits(11);
    default: return "1Z" + digits(6) + "A" + digits(9);
  }
}
std::string a_date() {
  const int y = range(1990, 2025), m = range(1, 12), d = range(1, 28);
  switch (pick(6)) {
    case 0: return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2);
    case 1: return pad(y, 4) + "/" + pad(m, 2) + "/" + pad(d, 2);
    case 2: return std::to_string(y) + "年" + std::to_string(m) + "月" + std::to_string(d) + "日";
    case 3: return pad(d, 2) + "." + pad(m, 2) + "." + pad(y, 4);
    case 4: return pad(y, 4) + pad(m, 2) + pad(d, 2);
    default: return pad(m, 2) + "/" + pad(d, 2) + "/" + pad(y, 4);
  }
}
std::string a_datetime() {
  switch (pick(4)) {
    case 0: return a_date() + " " + pad(range(0, 23), 2) + ":" + pad(range(0, 59), 2) + ":" + pad(range(0, 59), 2);
    case 1: return std::to_string(range(1600000000, 1750000000));                    // unix seconds
    case 2: return std::to_string(range(1600000000, 1750000000)) + digits(3);        // unix milliseconds
    default: return "2024" + pad(range(1, 12), 2) + pad(range(1, 28), 2) + pad(range(0, 23), 2) + pad(range(0, 59), 2) + pad(range(0, 59), 2);
  }
}
std::string version() {
  switch (pick(6)) {
    case 0: return "v" + std::to_string(range(0, 5)) + "." + std::to_string(range(0, 20)) + "." + std::to_string(range(0, 30));
    case 1: return std::to_string(range(1, 3)) + "." + std::to_string(range(0, 12)) + "." + std::to_string(range(0, 40));
    case 2: return "10.0." + std::to_string(range(17000, 22631)) + "." + std::to_string(range(1, 3000));
    case 3: return std::to_string(range(100, 125)) + ".0." + std::to_string(range(5000, 6500)) + "." + std::to_string(range(10, 200));
    case 4: return "1.0.0.0";  // .NET's default assembly version: looks exactly like an IPv4 address
    default: return std::to_string(range(2, 9)) + "." + std::to_string(range(0, 9)) + "." + std::to_string(range(0, 9)) + "-rc" + std::to_string(range(1, 4));
  }
}
std::string price() {
  switch (pick(5)) {
    case 0: return "¥" + std::to_string(range(1, 99)) + "," + pad(range(0, 999), 3) + ".00";
    case 1: return "$" + std::to_string(range(1, 9999)) + "." + pad(range(0, 99), 2);
    case 2: return std::to_string(range(1, 99999)) + "." + pad(range(0, 99), 2) + "元";
    case 3: return "€" + std::to_string(range(1, 999)) + "," + pad(range(0, 99), 2);
    default: return "RMB " + std::to_string(range(1000, 999999));
  }
}
std::string bad_ip() {
  switch (pick(5)) {
    case 0: return std::to_string(range(256, 999)) + "." + std::to_string(range(0, 255)) + ".1." + std::to_string(range(1, 255));
    case 1: return "192.168.1." + std::to_string(range(256, 400));
    case 2: return std::to_string(range(1, 20)) + "." + std::to_string(range(0, 20)) + "." + std::to_string(range(0, 20));
    case 3: return "00:1A:2B:" + pad(range(10, 99), 2) + ":4D:5E";  // a MAC address
    default: return pad(range(0, 23), 2) + ":" + pad(range(0, 59), 2) + ":" + pad(range(0, 59), 2);
  }
}
std::string bad_email() {
  static const std::vector<std::string> v = {"user@localhost", "admin@intranet", "@zhangwei", "icon@2x.png",
                                             "john.doe@", "name at example dot com", "a..b@example.com",
                                             "support@-example.com", "foo@bar", "logo@3x.jpg", "git@host"};
  return one_of(v);
}
std::string last4() { return digits(4); }

// Chinese text often carries full-width digits and letters (U+FF10.., U+FF21..).
std::string fullwidth(const std::string& ascii) {
  std::string out;
  for (char c : ascii) {
    if (c >= '!' && c <= '~') {
      const unsigned u = 0xFF01 + static_cast<unsigned>(c - '!');
      out += static_cast<char>(0xE0 | (u >> 12));
      out += static_cast<char>(0x80 | ((u >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (u & 0x3F));
    } else {
      out += c;
    }
  }
  return out;
}
std::string mobile_fullwidth() { return fullwidth(cn_mobile()); }
std::string id_fullwidth() { return fullwidth(pick(4) ? cn_id() : cn_id_with_x()); }
std::string card_fullwidth() { return fullwidth(card_number()); }
std::string mobile_0086() {
  const std::string m = cn_mobile();
  return pick(2) ? "0086 " + m : "0086-" + m.substr(0, 3) + "-" + m.substr(3, 4) + "-" + m.substr(7);
}
std::string mobile_dashed_86() {
  const std::string m = cn_mobile();
  return "+86-" + m.substr(0, 3) + "-" + m.substr(3, 4) + "-" + m.substr(7);
}
std::string uk_trunk() { return "+44 (0)20 " + pad(range(7000, 8999), 4) + " " + digits(4); }
std::string bare_ssn() {
  int area;
  do area = range(1, 899);
  while (area == 666);
  return pad(area, 3) + pad(range(1, 99), 2) + pad(range(1, 9999), 4);
}
std::string masked() {
  switch (pick(4)) {
    case 0: return cn_mobile().substr(0, 3) + "****" + digits(4);
    case 1: return "6222 **** **** " + digits(4);
    case 2: return one_of(kRegions) + "********" + digits(4);
    default: return "****" + digits(4);
  }
}
std::string uuid() {
  static const char* h = "0123456789abcdef";
  std::string s;
  for (int n : {8, 4, 4, 4, 12}) {
    if (!s.empty()) s += '-';
    for (int i = 0; i < n; ++i) s += h[pick(16)];
  }
  return s;
}
std::string isbn() { return "978-7-" + std::to_string(range(100, 999)) + "-" + digits(5) + "-" + digits(1); }
std::string sha() {
  static const char* h = "0123456789abcdef";
  std::string s = "sha256:";
  for (int i = 0; i < 64; ++i) s += h[pick(16)];
  return s;
}
std::string wxid() { return "wxid_" + cn_mobile(); }

// ---- templates: {SLOT} is filled; slots in kPositive are labelled ----
struct Slot {
  const char* name;
  const char* type;  // nullptr: a near miss, not labelled
  std::string (*make)();
};
std::string mobile_any() { return cn_mobile_formatted(cn_mobile()); }
std::string mobile_plain() { return cn_mobile(); }
std::string id_any() { return cn_id_formatted(pick(6) ? cn_id() : cn_id_with_x()); }
std::string id_plain() { return pick(6) ? cn_id() : cn_id_with_x(); }
std::string card_any() { return card_formatted(card_number()); }
std::string card_plain() { return card_number(); }
std::string iban_any() { return iban_formatted(iban_compact()); }
std::string iban_plain() { return iban_compact(); }
std::string ip_any() { return pick(3) ? ipv4() : ipv6(); }
std::string name_any() { return one_of(kNames); }
std::string zh_name() { return kNames[pick(17)]; }
std::string en_name() { return kNames[17 + pick(kNames.size() - 17)]; }

const std::vector<Slot> kSlots = {
    {"MOBILE", "PHONE", mobile_any},     {"MOBILE0", "PHONE", mobile_plain}, {"LANDLINE", "PHONE", cn_landline},
    {"INTL", "PHONE", intl_phone},       {"USPHONE", "PHONE", us_local_phone}, {"CNID", "CN_ID", id_any},
    {"CNID0", "CN_ID", id_plain},        {"CARD", "BANK_CARD", card_any},    {"CARD0", "BANK_CARD", card_plain},
    {"IBAN", "IBAN", iban_any},          {"IBAN0", "IBAN", iban_plain},      {"SSN", "US_SSN", ssn},
    {"EMAIL", "EMAIL", email},           {"IP4", "IP", ipv4},                {"IP6", "IP", ipv6},
    {"IP", "IP", ip_any},                {"NAME", "NAME", name_any},         {"ZHNAME", "NAME", zh_name},
    {"ENNAME", "NAME", en_name},         {"EMP", "EMPLOYEE_ID", employee_id},
    {"BADCARD", nullptr, bad_card},      {"BADID", nullptr, bad_cn_id},      {"BADIBAN", nullptr, bad_iban},
    {"BADSSN", nullptr, bad_ssn},        {"NOTMOBILE", nullptr, not_a_mobile}, {"ORDER", nullptr, order_number},
    {"TRACK", nullptr, tracking},        {"DATE", nullptr, a_date},          {"DATETIME", nullptr, a_datetime},
    {"VER", nullptr, version},           {"PRICE", nullptr, price},          {"BADIP", nullptr, bad_ip},
    {"BADEMAIL", nullptr, bad_email},    {"LAST4", nullptr, last4},
    {"FWMOBILE", "PHONE", mobile_fullwidth}, {"FWID", "CN_ID", id_fullwidth}, {"FWCARD", "BANK_CARD", card_fullwidth},
    {"M0086", "PHONE", mobile_0086},     {"M86DASH", "PHONE", mobile_dashed_86}, {"UKTRUNK", "PHONE", uk_trunk},
    {"BARESSN", "US_SSN", bare_ssn},     {"MASKED", nullptr, masked},        {"UUID", nullptr, uuid},
    {"ISBN", nullptr, isbn},             {"SHA", nullptr, sha},              {"WXID", nullptr, wxid},
    {"AMOUNT11", nullptr, mobile_plain},  // 11 digits of money, not a phone
};

// Chinese and English sentences as they appear in bank chats, tickets, logs and forms.
const std::vector<std::string> kTemplates = {
    // Chinese, true values
    "客户{ZHNAME}的手机号是{MOBILE}，身份证号{CNID}。",
    "电话{MOBILE0}联系",
    "请拨打{LANDLINE}联系{ZHNAME}，或发邮件至{EMAIL}。",
    "联系人：{ZHNAME}，手机：{MOBILE}，邮箱：{EMAIL}",
    "身份证号码{CNID0}，开户行招商银行，卡号{CARD0}。",
    "本人{ZHNAME}，身份证{CNID}，申请挂失尾号{LAST4}的借记卡，新卡号{CARD}。",
    "收款账户：{CARD}（{ZHNAME}），请于{DATE}前转账。",
    "境外汇款请填写IBAN：{IBAN}，收款人{ENNAME}。",
    "我的卡号是{CARD0}吗？为什么{DATETIME}扣了{PRICE}",
    "手机{MOBILE0}，座机{LANDLINE}，工号{EMP}。",
    "服务器{IP4}于{DATETIME}无法访问，备用地址{IP6}。",
    "登录IP：{IP}，设备号{TRACK}，时间{DATETIME}",
    "{ZHNAME}（工号{EMP}）的邮箱{EMAIL}已停用。",
    "身份证{CNID0}的客户{ZHNAME}于{DATE}开户，预留手机{MOBILE0}",
    "转账到{IBAN0}失败，请核对后重试。订单号{ORDER}。",
    "紧急联系人{ZHNAME}，电话{MOBILE}；第二联系人电话{INTL}",
    "客户来电{LANDLINE}咨询信用卡{CARD}的账单，金额{PRICE}。",
    "VIP客户{ZHNAME}身份证号{CNID}已核实，手机号{MOBILE0}已更新。",
    "请将退款打到我的卡{CARD}上，谢谢{ZHNAME}",
    "地址：北京市海淀区中关村大街27号，电话{LANDLINE}，邮编100086",
    // Chinese, near misses only (and a few true values among them)
    "订单号：{ORDER}，下单时间{DATETIME}，金额{PRICE}",
    "您尾号{LAST4}的储蓄卡于{DATETIME}支出{PRICE}。",
    "身份证号{BADID}校验失败，请核对。",
    "卡号{BADCARD}无效，请重新输入。",
    "物流单号{TRACK}，预计{DATE}送达。",
    "版本{VER}已发布，修复了{DATE}报告的问题。",
    "编号{NOTMOBILE}的设备在{DATETIME}离线。",
    "统一社会信用代码91350100M000100Y43，注册日期{DATE}。",
    "车牌号京A{LAST4}5，违章时间{DATETIME}。",
    "验证码{LAST4}，{DATE}前有效，请勿泄露。",
    "IBAN {BADIBAN} 校验不通过。",
    "流水号{ORDER}，交易金额{PRICE}，时间{DATETIME}",
    "会议室电话分机{LAST4}，会议编号{NOTMOBILE}",
    "客服热线95588或400-820-8820，工作时间9:00-17:00",
    "请参考第3.2.1节和{VER}版本说明。",
    "日志：{DATETIME} 耗时{LAST4}ms，请求{ORDER}",
    "身份证{BADID}和{CNID0}哪个是对的？",
    "卡号{BADCARD}输错了，正确的是{CARD0}",
    "手机号{NOTMOBILE}不存在，应该是{MOBILE0}",
    "MAC地址{BADIP}，IP地址{IP4}",
    // English, true values
    "Please wire the funds to {IBAN} (account holder {ENNAME}).",
    "My SSN is {SSN} and my card number is {CARD}.",
    "Reach me at {EMAIL} or {INTL}.",
    "Customer {ENNAME} called from {USPHONE} about card {CARD}.",
    "Contact: {ENNAME} <{EMAIL}>, phone {INTL}",
    "Employee {EMP} ({ENNAME}) logged in from {IP} at {DATETIME}.",
    "Refund to IBAN {IBAN0}; reference {ORDER}.",
    "The applicant's SSN {SSN} matches the record dated {DATE}.",
    "Server {IP4} is down; failover to {IP6}.",
    "Card {CARD0} was charged {PRICE} on {DATE}.",
    "Send the statement to {EMAIL} and cc {EMAIL}.",
    "{ENNAME} changed her phone to {INTL} on {DATE}.",
    "Chinese ID {CNID0} belongs to {ZHNAME}; mobile {MOBILE}.",
    // English, near misses
    "Invoice {ORDER} dated {DATE} totals {PRICE}.",
    "Build {VER} fixes the crash reported at {DATETIME}.",
    "Tracking number {TRACK} shipped on {DATE}.",
    "Card ending in {LAST4} was declined at {DATETIME}.",
    "The test card {BADCARD} is invalid.",
    "SSN {BADSSN} is not a valid number.",
    "The IBAN {BADIBAN} failed validation.",
    "Address {BADIP} is not reachable.",
    "Write to {BADEMAIL} for internal tickets.",
    "Assembly version {VER}, released {DATE}.",
    "Order #{ORDER} total {PRICE}, paid at {DATETIME}.",
    "Part number {NOTMOBILE} is out of stock.",
    "Account {BADCARD} could not be verified; use {CARD} instead.",
    "John Smithson and Mary Johnsonville are fictional, unlike {ENNAME}.",
    "Call 212-555-0147 or email {BADEMAIL}.",
    // Formats seen in real Chinese and English data
    "手机号：{FWMOBILE}，身份证：{FWID}",
    "银行卡号{FWCARD}，持卡人{ZHNAME}",
    "国际电话{M0086}，备用{M86DASH}",
    "London office: {UKTRUNK}, ask for {ENNAME}.",
    "Applicant SSN: {BARESSN}; verified by {ENNAME}.",
    "个人主页 https://example.com/u/{MOBILE0} ，微信号{WXID}",
    "已脱敏：手机{MASKED}，卡号{MASKED}，证件{MASKED}",
    "request_id={UUID} user={EMAIL} ip={IP4}:8080",
    "ISBN {ISBN}，定价{PRICE}",
    "image digest {SHA}, pushed from [{IP6}]:443",
    "总资产{PRICE}，其中理财{AMOUNT11}.50元",
    "SWIFT代码BKCHCNBJ，账号{CARD0}，户名{ZHNAME}",
    "身份证：{CNID0}；手机：{MOBILE0}/{MOBILE0}",
    "联系方式：{MOBILE0},{MOBILE0}（{ZHNAME}）",
};

void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

}  // namespace

int main() {
  const int lines = 720;
  for (int n = 0; n < lines; ++n) {
    const std::string& t = kTemplates[n < static_cast<int>(kTemplates.size()) ? n : pick(kTemplates.size())];
    std::string text;
    std::vector<std::pair<std::string, std::string>> labels;
    for (size_t i = 0; i < t.size();) {
      if (t[i] != '{') {
        text += t[i++];
        continue;
      }
      const size_t close = t.find('}', i);
      const std::string name = t.substr(i + 1, close - i - 1);
      for (const Slot& s : kSlots) {
        if (name != s.name) continue;
        const std::string v = s.make();
        if (s.type) labels.emplace_back(s.type, v);
        text += v;
      }
      i = close + 1;
    }
    // "Call 212-555-0147": a US number in the local dash form, which the PHONE detector leaves
    // (it is the shape of Chinese 400 service numbers too); labelled, so recall counts it.
    if (text.find("212-555-0147") != std::string::npos) labels.emplace_back("PHONE", "212-555-0147");
    std::string line = "{\"text\":";
    json_string(line, text);
    line += ",\"pii\":[";
    for (size_t i = 0; i < labels.size(); ++i) {
      line += i ? ",[" : "[";
      json_string(line, labels[i].first);
      line += ',';
      json_string(line, labels[i].second);
      line += ']';
    }
    line += "]}";
    std::puts(line.c_str());
  }
}
