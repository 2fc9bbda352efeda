#include "gateway/pii_detector.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "gateway/pii_dictionary.h"
#include "gateway/pii_chars.h"
#include "gateway/pii_normalize.h"
#include "gateway/pii_regex.h"
#include "gateway/pii_scanners.h"

namespace citadel {

struct PiiDetector::Impl {
  pii::NumberKinds numbers;
  bool any_number = false, email = false, ip = false, iban = false;
  pii::Dictionary dictionary;
  std::vector<pii::RegexDetector> regexes;
};

namespace {

void load_terms(const std::string& path, const PiiDictionaryConfig& d, pii::Dictionary& dict) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read PII dictionary " + path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t b = line.find_first_not_of(" \t"), e = line.find_last_not_of(" \t");
    if (b == std::string::npos || line[b] == '#') continue;
    dict.add(std::string_view(line).substr(b, e - b + 1), d.type, d.case_sensitive);
  }
  if (in.bad()) throw std::runtime_error("error reading PII dictionary " + path);
}

}  // namespace

PiiDetector::PiiDetector(const PiiConfig& config) : impl_(std::make_unique<Impl>()) {
  auto on = [&](const char* name) {
    return std::find(config.detectors.begin(), config.detectors.end(), name) != config.detectors.end();
  };
  for (const auto& name : config.detectors) {
    const auto& known = pii_builtin_detectors();
    if (std::find(known.begin(), known.end(), name) == known.end())
      throw std::invalid_argument("unknown PII detector '" + name + "'");
  }
  Impl& m = *impl_;
  m.numbers = {on("phone"), on("cn_id"), on("bank_card"), on("us_ssn")};
  m.any_number = m.numbers.phone || m.numbers.cn_id || m.numbers.bank_card || m.numbers.us_ssn;
  m.email = on("email"), m.ip = on("ip"), m.iban = on("iban");
  for (const auto& name : pii_builtin_detectors())
    if (on(name.c_str())) types_.push_back(pii_type_name(name));
  auto add_type = [this](const std::string& t) {
    if (std::find(types_.begin(), types_.end(), t) == types_.end()) types_.push_back(t);
  };
  for (const auto& d : config.dictionaries) {
    const std::string type = pii_type_name(d.type);
    PiiDictionaryConfig named = d;
    named.type = type;
    for (const auto& t : d.terms) m.dictionary.add(t, type, d.case_sensitive);
    for (const auto& f : d.files) load_terms(f, named, m.dictionary);
    add_type(type);
  }
  m.dictionary.build();
  for (const auto& r : config.regexes) {
    m.regexes.emplace_back(pii_type_name(r.type), r.pattern);
    add_type(m.regexes.back().type());
  }
}

PiiDetector::~PiiDetector() = default;

std::vector<PiiSpan> PiiDetector::detect(std::string_view text) const {
  const Impl& m = *impl_;
  // Candidates with their source's rank (built-in, dictionary, regex) for the overlap rule.
  std::vector<PiiSpan> found;
  std::vector<std::pair<size_t, int>> rank;  // (index into found, rank)
  auto mark = [&](int r, size_t from) {
    for (size_t i = from; i < found.size(); ++i) rank.emplace_back(i, r);
  };
  // Every built-in type holds a digit or an '@'; most prose has neither, and is done in one pass.
  // Full-width forms (lead bytes EF, E3) are read as ASCII; their spans are mapped back.
  const bool wide = std::memchr(text.data(), 0xEF, text.size()) || std::memchr(text.data(), 0xE3, text.size());
  pii::NarrowText narrow;
  const bool narrowed = wide && pii::narrow_fullwidth(text, narrow);
  const std::string_view scan = narrowed ? std::string_view(narrow.text) : text;
  if (narrowed || std::any_of(text.begin(), text.end(), [](char c) { return pii::is_digit(c) || c == '@'; })) {
    if (m.email) pii::scan_emails(scan, found);
    if (m.iban) pii::scan_ibans(scan, found);
    if (m.any_number) pii::scan_numbers(scan, m.numbers, found);
    if (m.ip) pii::scan_ips(scan, found);
  }
  if (narrowed)
    for (PiiSpan& s : found) {
      s.begin = narrow.origin[s.begin], s.end = narrow.origin[s.end];
      s.value.assign(text.substr(s.begin, s.end - s.begin));
    }
  mark(0, 0);
  size_t from = found.size();
  m.dictionary.find(text, found);
  mark(1, from);
  from = found.size();
  for (const auto& r : m.regexes) r.find(text, found);
  mark(2, from);
  if (found.empty()) return found;

  std::sort(rank.begin(), rank.end(), [&](const auto& a, const auto& b) {
    const PiiSpan &x = found[a.first], &y = found[b.first];
    if (x.begin != y.begin) return x.begin < y.begin;
    if (x.end != y.end) return x.end > y.end;
    return a.second != b.second ? a.second < b.second : a.first < b.first;
  });
  std::vector<PiiSpan> out;
  size_t covered = 0;
  for (const auto& [i, r] : rank) {
    if (found[i].begin < covered) continue;
    covered = found[i].end;
    out.push_back(std::move(found[i]));
  }
  return out;
}

}  // namespace citadel
