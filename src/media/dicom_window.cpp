#include "media/dicom_window.h"

#include <cctype>

namespace citadel {

namespace {
constexpr DicomWindowPreset kPresets[] = {
    {"lung", -600, 1500},
    {"bone", 400, 1800},
    {"brain", 40, 80},
    {"abdomen", 50, 400},
};
}  // namespace

const DicomWindowPreset* find_dicom_window_preset(std::string_view name) {
  for (const auto& p : kPresets) {
    std::string_view n = p.name;
    if (n.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < n.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(name[i])) == n[i];
    if (same) return &p;
  }
  return nullptr;
}

std::string dicom_window_preset_names() {
  std::string s;
  for (const auto& p : kPresets) s += (s.empty() ? "" : ", ") + std::string(p.name);
  return s;
}

}  // namespace citadel
