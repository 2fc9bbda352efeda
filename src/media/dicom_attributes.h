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

// The checks dicom_attributes() makes on the names alone (unknown keyword, identifying attribute):
// ImageError, before any file is read.
void check_dicom_attribute_names(const std::vector<std::string>& keywords);

// The caption an image gets in a prompt from its named attributes, in the order asked:
// "[DICOM Modality: CT; BodyPartExamined: CHEST]\n"; attributes the file lacks are left out, and
// "" when none is there (or none was asked for). Identifying attributes are refused as above.
std::string dicom_caption(std::string_view bytes, const std::vector<std::string>& keywords, const ImageLimits& limits = {});

}  // namespace citadel
