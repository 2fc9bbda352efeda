#include "tokenizer/nfc.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "tokenizer/nfc_tables.h"
#include "tokenizer/utf8.h"

namespace citadel {
namespace {

// Hangul syllables decompose and compose by arithmetic (Unicode 3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

struct Tables {
  std::unordered_map<uint32_t, std::pair<size_t, size_t>> decompositions;  // cp -> (offset, length)
  std::unordered_map<uint64_t, uint32_t> compositions;                     // (first << 32 | second) -> cp

  Tables() {
    for (size_t i = 0; i < nfc_tables::kDecompositionWords;) {
      const uint32_t cp = nfc_tables::kDecompositions[i], n = nfc_tables::kDecompositions[i + 1];
      decompositions[cp] = {i + 2, n};
      i += 2 + n;
    }
    for (size_t i = 0; i < nfc_tables::kCompositionCount; ++i) {
      const uint32_t* c = &nfc_tables::kCompositions[3 * i];
      compositions[(static_cast<uint64_t>(c[0]) << 32) | c[1]] = c[2];
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

uint8_t combining_class(uint32_t cp) {
  if (cp < 0x300) return 0;
  const uint32_t* begin = nfc_tables::kCombiningClasses;
  const uint32_t* end = begin + nfc_tables::kCombiningClassCount;
  const uint32_t* it = std::lower_bound(begin, end, cp << 8);
  return (it != end && (*it >> 8) == cp) ? static_cast<uint8_t>(*it & 0xFF) : 0;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  const auto& d = tables().decompositions;
  const auto it = d.find(cp);
  if (it == d.end()) {
    out.push_back(cp);
    return;
  }
  for (size_t k = 0; k < it->second.second; ++k) out.push_back(nfc_tables::kDecompositions[it->second.first + k]);
}

// The composite of a starter and the next character, or 0.
uint32_t compose_pair(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  const auto& c = tables().compositions;
  const auto it = c.find((static_cast<uint64_t>(a) << 32) | b);
  return it == c.end() ? 0 : it->second;
}

// NFC of a run of valid UTF-8: decompose, order the marks, compose.
void normalize_run(std::string_view run, std::string& out) {
  std::vector<uint32_t> cps;
  for (size_t pos = 0; pos < run.size(); pos += utf8::valid_length_at(run, pos))
    decompose(utf8::decode_at(run, pos), cps);
  // Canonical order: a stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < cps.size();) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j,
                     [](uint32_t a, uint32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  // Canonical composition.
  std::vector<uint32_t> result;
  int starter = -1;     // index in result of the last starter
  int last_class = -1;  // class of the last character appended after the starter (-1: none)
  for (uint32_t cp : cps) {
    const int cls = combining_class(cp);
    if (starter >= 0) {
      const bool blocked = last_class != -1 && (last_class == 0 || last_class >= cls);
      if (!blocked) {
        if (const uint32_t composite = compose_pair(result[starter], cp)) {
          result[starter] = composite;
          continue;
        }
      }
    }
    if (cls == 0) {
      starter = static_cast<int>(result.size());
      last_class = -1;
    } else {
      last_class = cls;
    }
    result.push_back(cp);
  }
  for (uint32_t cp : result) out += utf8::encode(cp);
}

}  // namespace

std::string to_nfc(std::string_view text) {
  bool ascii = true;
  for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    while (pos < text.size() && utf8::valid_length_at(text, pos) > 0) pos += utf8::valid_length_at(text, pos);
    normalize_run(text.substr(start, pos - start), out);
    while (pos < text.size() && utf8::valid_length_at(text, pos) == 0) out += text[pos++];
  }
  return out;
}

}  // namespace citadel
