// Images as the vision encoder takes them, and where they come from: PNG and JPEG (libpng,
// libjpeg-turbo) and DICOM (DCMTK: media/dicom_image.h). Decoders are bounded (ImageLimits) and
// throw ImageError with a message fit for an HTTP 400: a hostile file never crashes or balloons.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace citadel {

// 8-bit RGB, row-major, 3 bytes per pixel (grey images are widened to R = G = B).
struct Image {
  int32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3
  // Text that goes into the prompt right before the image (named DICOM attributes the request
  // asked for, e.g. "[DICOM Modality: CT; BodyPartExamined: CHEST]\n"); empty for most images.
  std::string caption;
};

struct ImageLimits {
  int64_t max_bytes = 64LL << 20;   // the encoded file
  int64_t max_pixels = 50'000'000;  // width * height of one image (or one frame)
};

class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ImageFormat { Unknown, Png, Jpeg, Dicom };

// From the first bytes: PNG signature, JPEG SOI, DICOM "DICM" at offset 128.
ImageFormat sniff_image_format(std::string_view bytes);

// How a DICOM image becomes 8-bit pixels (media/dicom_image.h). Window: the file's own centre/width
// unless a preset ("lung", "bone", "brain", "abdomen") or explicit values are given.
struct DicomOptions {
  std::string window_preset;         // "" : the file's window (else the pixel range)
  double window_center = 0, window_width = 0;  // width > 0: these instead
  int32_t frame = 0;                 // of a multi-frame file
  // Header attributes (PS3.6 keywords) put into the prompt as the image's caption; identifying
  // ones (PatientName, ...) are refused (media/dicom_attributes.h).
  std::vector<std::string> attributes;
};

// PNG, JPEG or DICOM, by sniffing; anything else is an ImageError. `dicom` applies to DICOM files
// only (PNG and JPEG have no window, frames or header).
Image decode_image(std::string_view bytes, const ImageLimits& limits = {}, const DicomOptions& dicom = {});

}  // namespace citadel
