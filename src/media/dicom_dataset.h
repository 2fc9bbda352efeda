// Reading a DICOM file from memory with DCMTK, for the media layer's own files (the DCMTK types
// stay out of the public headers). Before DCMTK sees a byte: the size limit, a refusal of the
// deflated transfer syntax (a small file could inflate without bound) and a walk over the
// element structure that refuses sequences nested deeper than kMaxDicomNesting (DCMTK reads
// sequences recursively: a deep file would overflow the stack). DCMTK's own logging is switched
// off once for the process, so nothing it would print (attribute values included) reaches stderr.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "media/image.h"

class DcmFileFormat;

namespace citadel {

inline constexpr int kMaxDicomNesting = 32;  // sequences within sequences (real files use < 10)

// Once per process: DCMTK's logger off, the JPEG, JPEG-LS and RLE decoders registered.
void dicom_init();

// The whole file (preamble + meta header, or a bare dataset) parsed; ImageError on anything
// DCMTK cannot read, with a message that names no attribute value.
std::unique_ptr<DcmFileFormat> read_dicom(std::string_view bytes, const ImageLimits& limits);

// The file written back (preamble, meta header, dataset in its original transfer syntax).
std::string write_dicom(DcmFileFormat& file);

// The structure walk alone: ImageError when nesting exceeds `max_depth`. Exposed for tests.
void check_dicom_nesting(std::string_view bytes, int max_depth = kMaxDicomNesting);

}  // namespace citadel
