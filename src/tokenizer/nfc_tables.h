// Data behind Unicode NFC (see nfc_tables.cpp, generated): combining classes, canonical
// decompositions and primary composites.
#pragma once
#include <cstddef>
#include <cstdint>

namespace citadel::nfc_tables {

extern const uint32_t kCombiningClasses[];  // (code point << 8) | class, sorted
extern const size_t kCombiningClassCount;
extern const uint32_t kDecompositions[];    // code point, n, n code points; ...
extern const size_t kDecompositionWords;
extern const uint32_t kCompositions[];      // first, second, composite; sorted
extern const size_t kCompositionCount;

}  // namespace citadel::nfc_tables
