// Placeholder until the DCMTK reader lands (issue 18): refuses DICOM input with a clear error.
#include "media/dicom_image.h"

namespace citadel {

Image decode_dicom(std::string_view, const ImageLimits&, const DicomOptions&) {
  throw ImageError("DICOM input is not supported by this build yet");
}

}  // namespace citadel
