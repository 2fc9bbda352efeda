// Named CT windows (centre/width in Hounsfield units, applied to the modality values after the
// rescale). Values from Radiopaedia's "Windowing (CT)" article, the common reading-room settings:
//   lung     C -600  W 1500
//   bone     C  400  W 1800
//   brain    C   40  W   80
//   abdomen  C   50  W  400   (abdominal soft tissue)
#pragma once
#include <string>
#include <string_view>

namespace citadel {

struct DicomWindowPreset {
  const char* name;
  double center, width;
};

// nullptr when the name is none of the presets (ASCII case ignored).
const DicomWindowPreset* find_dicom_window_preset(std::string_view name);
// "lung, bone, brain, abdomen": for messages and --help.
std::string dicom_window_preset_names();

}  // namespace citadel
