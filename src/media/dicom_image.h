// DICOM images through DCMTK: the pixel data of one frame as 8-bit RGB after the modality
// rescale (slope/intercept), MONOCHROME1 inversion and the VOI window. The header's identifying
// attributes (patient name, ID, birth date, ...) are never returned here: the attributes named in
// options.attributes become the image's caption, and identifying ones are refused before the file
// is read (media/dicom_attributes.h, docs/multimodal.md).
#pragma once
#include <string_view>

#include "media/image.h"

namespace citadel {

Image decode_dicom(std::string_view bytes, const ImageLimits& limits, const DicomOptions& options);

}  // namespace citadel
