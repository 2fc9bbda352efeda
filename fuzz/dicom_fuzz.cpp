// libFuzzer target: DICOM through DCMTK (media/dicom_image.h, dicom_attributes.h,
// dicom_anonymizer.h) must turn any byte string into an image, attributes or de-identified bytes,
// or an ImageError: never a crash, a hang, a stack overflow on deep sequences or an allocation
// past the limits (run_all.sh caps RSS at 2 GiB). Seeds: fuzz/seeds/dicom (CT 12-bit signed with
// rescale and window, two frames, MONOCHROME1, implicit VR, RLE, JPEG lossless, JPEG-LS, RGB, JPEG).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "media/dicom_anonymizer.h"
#include "media/dicom_attributes.h"
#include "media/dicom_image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  citadel::ImageLimits limits;
  limits.max_bytes = 1 << 20;
  limits.max_pixels = 1 << 20;
  const uint8_t pick = size ? data[size - 1] : 0;  // the last byte picks the options
  citadel::DicomOptions options;
  options.frame = pick & 1;
  if (pick & 2) options.window_preset = "lung";
  try {
    citadel::Image img = citadel::decode_dicom(bytes, limits, options);
    if (img.rgb.size() != size_t(img.width) * img.height * 3) __builtin_trap();
  } catch (const citadel::ImageError&) {
  }
  try {
    citadel::dicom_attributes(bytes, {"Modality", "Rows", "BodyPartExamined"}, false, limits);
  } catch (const citadel::ImageError&) {
  }
  if (pick & 4) {
    try {
      citadel::DicomAnonymizeOptions anon;
      anon.limits = limits;
      citadel::DicomAnonymizer(anon).anonymize(bytes);
    } catch (const citadel::ImageError&) {
    }
  }
  return 0;
}
