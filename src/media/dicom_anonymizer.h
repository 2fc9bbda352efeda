// De-identification of DICOM files after PS3.15 Annex E's Basic Application Level Confidentiality
// Profile (the attribute table and actions: media/dicom_deid_profile.h), for preparing training
// data. Per file: the table's actions applied at every nesting level, private attributes and
// curve/overlay data removed, UIDs replaced by new ones ("2.25." + 128 random bits) mapped one to
// one for every file this object sees (so a series stays a series), PatientIdentityRemoved = YES
// and DeidentificationMethod(+CodeSequence) set, the meta header made anew. Pixel data is not
// touched: a file that says its pixels carry burned-in text is refused unless accepted.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "media/image.h"

namespace citadel {

struct DicomAnonymizeOptions {
  // The Clean Descriptors Option: descriptions (StudyDescription, ImageComments, ...) are kept
  // after passing through clean_text (the PII redactor) instead of being removed.
  bool clean_descriptions = false;
  std::function<std::string(std::string_view)> clean_text;
  bool accept_burned_in = false;  // else BurnedInAnnotation = YES is an error
  ImageLimits limits{int64_t(2) << 30, int64_t(1) << 40};
};

struct DicomAnonymizeStats {
  int64_t removed = 0, emptied = 0, dummies = 0, cleaned = 0, uids = 0, private_removed = 0;
};

class DicomAnonymizer {
 public:
  explicit DicomAnonymizer(DicomAnonymizeOptions options = {});
  // One file's de-identified bytes (same transfer syntax). ImageError when it cannot be read or
  // is refused. `stats` (if given) gets this file's counts; nothing here logs a value.
  std::string anonymize(std::string_view bytes, DicomAnonymizeStats* stats = nullptr);
  // Distinct UIDs replaced so far.
  size_t uids_mapped() const { return uids_.size(); }

 private:
  std::string new_uid(const std::string& old);
  friend struct DicomAnonymizerWalk;

  DicomAnonymizeOptions options_;
  std::unordered_map<std::string, std::string> uids_;  // original -> replacement, this run only
};

}  // namespace citadel
