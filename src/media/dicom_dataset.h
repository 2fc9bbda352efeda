// Reading a DICOM file from memory with DCMTK, for the media layer's own files (the DCMTK types
// stay out of the public headers). Before DCMTK sees a byte: the size limit, the PS3.10 preamble
// ("DICM"), a refusal of the deflated transfer syntax (a small file could inflate without bound)
// and a walk over the element structure that refuses sequences nested deeper than
// kMaxDicomNesting (DCMTK reads sequences recursively: a deep file would overflow the stack),
// lengths that run past the end of the file (DCMTK allocates a value's length before reading it:
// 4 GiB from a 1 KiB file) and anything the walk cannot follow (unknown VRs, undefined lengths
// where none may be). DCMTK's own logging is switched off once for the process, so nothing it
// would print (attribute values included) reaches stderr.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "media/image.h"

class DcmFileFormat;

namespace citadel {

inline constexpr int kMaxDicomNesting = 32;  // sequences within sequences (real files use < 10)

// Once per process: DCMTK's logger off, the JPEG, JPEG-LS and RLE decoders registered.
void dicom_init();

// The whole file (preamble + meta header, or a bare dataset) parsed; ImageError on anything
// DCMTK cannot read, with a message that names no attribute value.
std::unique_ptr<DcmFileFormat> read_dicom(std::string_view bytes, const ImageLimits& limits);

// media/dicom_attributes.h's dicom_caption() over a file already parsed (decode_dicom reads the
// file once for its pixels and the caption the request asked for).
std::string dicom_caption(DcmFileFormat& file, const std::vector<std::string>& keywords);

// The file written back (preamble, meta header, dataset in its original transfer syntax).
std::string write_dicom(DcmFileFormat& file);

// The structure walk alone: ImageError when nesting exceeds `max_depth`, a length runs past the
// end or the structure cannot be followed. Exposed for tests.
void check_dicom_nesting(std::string_view bytes, int max_depth = kMaxDicomNesting);

}  // namespace citadel
