// The attributes DICOM PS3.15 Annex E (Table E.1-1, Basic Application Level Confidentiality
// Profile) names, with the action this implementation takes for each. The standard's actions:
//   D  replace with a dummy value of the same VR     Z  replace with an empty value (or a dummy)
//   X  remove                                        K  keep
//   C  clean: keep with identifying text taken out   U  replace a UID, consistently within a set
// Where the standard allows a choice (X/Z, X/D, Z/D, X/Z/D) we take the one that keeps the least:
// X when the attribute is not required by the image IODs, Z when it is a type 2 attribute of the
// Patient/Study modules. `cleanable`: the Clean Descriptors Option keeps it through the PII
// redactor (action C) instead of removing it. The full table is in docs/multimodal.md.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace citadel {

enum class DeidAction : char { Dummy = 'D', Empty = 'Z', Remove = 'X', Keep = 'K', Clean = 'C', Uid = 'U' };

struct DeidRule {
  uint16_t group, element;
  const char* keyword;
  DeidAction action;
  bool cleanable;  // a description the Clean Descriptors Option may keep (C)
};

const std::vector<DeidRule>& dicom_basic_profile();

// The rule for a tag, or nullptr (attributes outside the table are kept, except private ones and
// the curve/overlay groups, which the anonymizer removes).
const DeidRule* find_deid_rule(uint16_t group, uint16_t element);

// Whether an attribute may identify the patient: in the table with an action other than K,
// private, or a UID the profile replaces. dicom_attributes() refuses these unless allowed.
bool dicom_attribute_identifies(uint16_t group, uint16_t element);

}  // namespace citadel
