// DICOM images through DCMTK: the pixel data of one frame as 8-bit RGB after the modality
// rescale (slope/intercept), MONOCHROME1 inversion and the VOI window. The header's identifying
// attributes (patient name, ID, birth date, ...) are never returned here: callers that need named
// attributes ask for them explicitly (see docs/multimodal.md).
#pragma once
#include <string_view>

#include "media/image.h"

namespace citadel {

Image decode_dicom(std::string_view bytes, const ImageLimits& limits, const DicomOptions& options);

}  // namespace citadel
