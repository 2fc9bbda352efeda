// Numbers: a "chain" is a run of digit groups joined by one space, dash or parenthesis. Every
// consecutive slice of a chain's groups is a candidate (longest first); a candidate is reported
// when its digits and grouping pass one type's checks. Groups are maximal digit runs, so a number
// inside a longer run is never a candidate; a chain glued to letters is part of a code and skipped.
#include <string>

#include "gateway/pii_chars.h"
#include "gateway/pii_scanners.h"
#include "gateway/pii_validators.h"

namespace citadel::pii {

namespace {

constexpr size_t kNone = std::string_view::npos;
constexpr size_t kMaxGroups = 8;  // the most groups one candidate spans ("+33 1 42 68 53 00" has 6)

struct Group {
  size_t begin, end;              // the digits
  size_t outer_begin, outer_end;  // with the parentheses and a trailing X
  bool paren = false;             // "(010)"
  bool x = false;                 // followed by X/x: a CN ID check character
  char sep = 0;                   // what joins it to the previous group: ' ', '-', ')' or 0
};

struct Candidate {
  std::string digits;
  std::vector<size_t> lens;
  std::vector<char> seps;  // between the groups
  bool x = false;
  bool same_sep(const char* allowed) const {
    if (seps.empty()) return true;
    for (char s : seps)
      if (s != seps[0]) return false;
    for (const char* a = allowed; *a; ++a)
      if (*a == seps[0]) return true;
    return false;
  }
  bool lens_are(std::initializer_list<size_t> want) const { return lens == std::vector<size_t>(want); }
};

// Card groupings: fours with a shorter last group ("6222 0212 3456 7890 123"), Amex 4-6-5, Diners 4-6-4.
bool card_grouping(const Candidate& c) {
  const size_t k = c.lens.size();
  if (k == 1) return true;
  if (c.lens_are({4, 6, 5}) || c.lens_are({4, 6, 4})) return c.same_sep(" -");
  if (k < 3 || c.lens.back() > 4) return false;
  for (size_t i = 0; i + 1 < k; ++i)
    if (c.lens[i] != 4) return false;
  return c.same_sep(" -");
}

bool cn_landline_digits(std::string_view national) {  // area without the 0, then the subscriber
  return cn_landline_valid(national.substr(0, 2), national.substr(2)) ||
         cn_landline_valid(national.substr(0, 3), national.substr(3));
}

// "+CC ...": E.164, at most 15 digits; +86 and +1 numbers must be valid in their own plans.
bool international_phone(const Candidate& c) {
  const std::string& d = c.digits;
  if (c.x || d.size() < 8 || d.size() > 15) return false;
  const size_t cc = static_cast<size_t>(country_code_length(d));
  if (cc == 0 || c.lens[0] < cc) return false;  // the code is the first group or starts it
  const std::string_view national = std::string_view(d).substr(cc);
  if (d.compare(0, cc, "86") == 0) return cn_mobile_valid(national) || cn_landline_digits(national);
  if (cc == 1 && d[0] == '1') return nanp_valid(national);
  if (cc == 1 && d[0] == '7') return national.size() == 10;
  return national.size() >= 6 && national.size() <= 12;
}

// "00" and a country code, the international prefix dialled from China and Europe: "0086 138...",
// "0044 20 7946 0958". Glued to the number only for +86, whose numbers are checked strictly.
bool dialled_abroad(const Candidate& c) {
  if (c.digits.size() < 10 || c.digits.compare(0, 2, "00") != 0 || c.lens[0] < 3) return false;
  Candidate rest = c;
  rest.digits.erase(0, 2);
  rest.lens[0] -= 2;
  const size_t cc = static_cast<size_t>(country_code_length(rest.digits));
  if (cc == 0 || (rest.lens[0] != cc && rest.digits.compare(0, 2, "86") != 0)) return false;
  return international_phone(rest);
}

const char* national_type(const Candidate& c, const std::vector<Group>& g, size_t first, const NumberKinds& kinds) {
  const std::string& d = c.digits;
  const size_t k = c.lens.size();
  if (c.x) {  // only an ID ends in X
    const bool shape = (k == 1 && d.size() == 17) || (c.lens_are({6, 8, 3}) && c.same_sep(" -"));
    return kinds.cn_id && shape && cn_id_valid(d + 'X') ? pii_type::kCnId : nullptr;
  }
  if (kinds.cn_id && ((k == 1 && d.size() == 18) || (c.lens_are({6, 8, 4}) && c.same_sep(" -"))) && cn_id_valid(d))
    return pii_type::kCnId;
  if (kinds.bank_card && d.size() >= 13 && d.size() <= 19 && card_grouping(c) && bank_card_valid(d) &&
      !(d.size() == 18 && cn_id_shaped(d)))
    return pii_type::kBankCard;
  if (kinds.us_ssn && c.lens_are({3, 2, 4}) && c.same_sep(" -") &&
      us_ssn_valid(std::stoi(d.substr(0, 3)), std::stoi(d.substr(3, 2)), std::stoi(d.substr(5))))
    return pii_type::kUsSsn;
  if (!kinds.phone) return nullptr;
  // Chinese mobile: 13812345678, 138 1234 5678, 138-1234-5678, 138 12345678.
  if (((k == 1 && d.size() == 11) || ((c.lens_are({3, 4, 4}) || c.lens_are({3, 8})) && c.same_sep(" -"))) &&
      cn_mobile_valid(d))
    return pii_type::kPhone;
  // Chinese landline: 010-12345678, (0755)1234567, 0571 88886666, or glued 01012345678.
  if (d[0] == '0') {
    if (k == 2 && (c.lens[0] == 3 || c.lens[0] == 4) && (c.seps[0] != ')' || g[first].paren) &&
        cn_landline_valid(d.substr(1, c.lens[0] - 1), d.substr(c.lens[0])))
      return pii_type::kPhone;
    if (k == 1 && (d.size() == 11 || d.size() == 12) && cn_landline_digits(std::string_view(d).substr(1)))
      return pii_type::kPhone;
  }
  // North American with the area code in parentheses: (212) 555-0123.
  if (k == 3 && g[first].paren && c.lens_are({3, 3, 4}) && c.seps[1] == '-' && nanp_valid(d)) return pii_type::kPhone;
  return nullptr;
}

class NumberScanner {
 public:
  NumberScanner(std::string_view text, const NumberKinds& kinds, std::vector<PiiSpan>& out)
      : t_(text), kinds_(kinds), out_(out) {}

  void run() {
    size_t i = 0;
    while (i < t_.size()) {
      if (!is_digit(t_[i])) {
        ++i;
        continue;
      }
      i = chain_at(i);
    }
  }

 private:
  char at(size_t i) const { return i < t_.size() ? t_[i] : '\0'; }
  char before(size_t i) const { return i > 0 ? t_[i - 1] : '\0'; }

  Group group_at(size_t d) const {
    Group g{};
    g.begin = d;
    g.end = d;
    while (g.end < t_.size() && is_digit(t_[g.end])) ++g.end;
    g.paren = before(d) == '(' && at(g.end) == ')';
    g.x = !g.paren && (at(g.end) == 'X' || at(g.end) == 'x') && !is_word(at(g.end + 1));
    g.outer_begin = g.paren ? d - 1 : d;
    g.outer_end = g.end + (g.paren || g.x ? 1 : 0);
    return g;
  }

  // Reads the chain whose first digit is at d, reports what it holds, returns where it ends.
  size_t chain_at(size_t d) {
    groups_.clear();
    groups_.push_back(group_at(d));
    while (!groups_.back().x) {
      const size_t e = groups_.back().outer_end;
      size_t next = kNone;
      char sep = 0;
      if (groups_.back().paren && is_digit(at(e))) {
        next = e, sep = ')';
      } else if (at(e) == ' ' || at(e) == '-') {
        sep = at(e);
        if (is_digit(at(e + 1))) next = e + 1;
        else if (at(e + 1) == '(' && is_digit(at(e + 2))) next = e + 2;
      }
      if (next == kNone) break;
      Group g = group_at(next);
      if (!is_digit(at(next)) || (at(next - 1) == '(' && !g.paren)) break;  // an unclosed '('
      g.sep = sep;
      groups_.push_back(g);
    }
    const size_t end = groups_.back().outer_end;
    size_t start = groups_.front().outer_begin;
    plus_ = kNone;
    if (before(start) == '+' && !is_word(before(start - 1))) plus_ = start - 1;
    const size_t left = plus_ != kNone ? plus_ : start;
    if (!glued(left, end)) report();
    return end;
  }

  // Letters or '_' against the chain (directly or across a '-'), or a decimal point: the digits
  // belong to a code (SF1234..., EMP-852875) or to a decimal number (3.13812345678). A ',' or '/'
  // is no glue: lists ("13812345678/13912345678") and URL paths ("/u/13812345678").
  bool glued(size_t left, size_t end) const {
    const char l = before(left), r = at(end);
    auto letter = [](char c) { return is_alpha(c) || c == '_'; };
    if (is_word(l) || is_word(r)) return true;
    if (l == '.' && left >= 2 && is_digit(t_[left - 2])) return true;
    if (r == '.' && is_digit(at(end + 1))) return true;
    if (l == '-' && left >= 2 && letter(t_[left - 2])) return true;
    if (r == '-' && letter(at(end + 1))) return true;
    return false;
  }

  void report() {
    const size_t k = groups_.size();
    for (size_t i = 0; i < k;) {
      size_t next = i + 1;
      for (size_t j = std::min(k - 1, i + kMaxGroups - 1) + 1; j-- > i;) {
        if (const char* type = candidate_type(i, j)) {
          const size_t b = (i == 0 && plus_ != kNone) ? plus_ : groups_[i].outer_begin, e = groups_[j].outer_end;
          out_.push_back({type, b, e, std::string(t_.substr(b, e - b))});
          next = j + 1;
          break;
        }
      }
      i = next;
    }
  }

  const char* candidate_type(size_t i, size_t j) {
    Candidate& c = cand_;
    c.digits.clear();
    c.lens.clear();
    c.seps.clear();
    for (size_t g = i; g <= j; ++g) {
      c.digits.append(t_.substr(groups_[g].begin, groups_[g].end - groups_[g].begin));
      c.lens.push_back(groups_[g].end - groups_[g].begin);
      if (g > i) c.seps.push_back(groups_[g].sep);
    }
    if (c.digits.size() > 19) return nullptr;
    c.x = groups_[j].x;
    if (i == 0 && plus_ != kNone) return kinds_.phone && international_phone(c) ? pii_type::kPhone : nullptr;
    if (kinds_.phone && dialled_abroad(c)) return pii_type::kPhone;
    // Nine bare digits are an SSN only under their label ("SSN: 123456789").
    if (kinds_.us_ssn && c.lens.size() == 1 && c.digits.size() == 9 &&
        labelled_before(t_, groups_[i].outer_begin, {"SSN", "SSN No.", "social security number", "social security no."}) &&
        us_ssn_valid(std::stoi(c.digits.substr(0, 3)), std::stoi(c.digits.substr(3, 2)), std::stoi(c.digits.substr(5))))
      return pii_type::kUsSsn;
    return national_type(c, groups_, i, kinds_);
  }

  std::string_view t_;
  const NumberKinds& kinds_;
  std::vector<PiiSpan>& out_;
  std::vector<Group> groups_;
  size_t plus_ = kNone;
  Candidate cand_;
};

}  // namespace

void scan_numbers(std::string_view text, const NumberKinds& kinds, std::vector<PiiSpan>& out) {
  NumberScanner(text, kinds, out).run();
}

}  // namespace citadel::pii
