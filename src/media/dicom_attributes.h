// Named attributes of a DICOM header, and nothing else: the only way the media layer hands out
// header values. An attribute that may identify the patient (media/dicom_deid_profile.h: names,
// IDs, dates, institution, physicians, UIDs, private tags) is refused unless the caller sets
// allow_identifying, so a request that names "Modality" and "BodyPartExamined" can put those in a
// prompt while PatientName stays out of prompts, logs and audit.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "media/image.h"

namespace citadel {

// keywords: DICOM attribute keywords as in PS3.6 ("Modality", "BodyPartExamined", "StudyDate").
// Returns keyword -> value (multiple values joined with '\'), top-level dataset only; attributes
// the file lacks (and sequences) are left out. ImageError for an unknown keyword, an identifying
// attribute without allow_identifying, or a file that cannot be read.
std::map<std::string, std::string> dicom_attributes(std::string_view bytes, const std::vector<std::string>& keywords,
                                                    bool allow_identifying = false, const ImageLimits& limits = {});

}  // namespace citadel
