#include "media/dicom_attributes.h"

#include <memory>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dctag.h"
#include "media/dicom_dataset.h"
#include "media/dicom_deid_profile.h"

namespace citadel {

namespace {

std::vector<std::pair<std::string, DcmTag>> tags_of(const std::vector<std::string>& keywords, bool allow_identifying) {
  dicom_init();
  std::vector<std::pair<std::string, DcmTag>> tags;
  for (const std::string& keyword : keywords) {
    DcmTag tag;
    if (keyword.empty() || DcmTag::findTagFromName(keyword.c_str(), tag).bad() ||
        std::string(tag.getTagName()) != keyword)
      throw ImageError("unknown DICOM attribute keyword '" + keyword + "'");
    if (!allow_identifying && dicom_attribute_identifies(tag.getGroup(), tag.getElement()))
      throw ImageError("DICOM attribute " + keyword +
                       " may identify the patient and is not returned (PS3.15 basic profile)");
    tags.emplace_back(keyword, tag);
  }
  return tags;
}

}  // namespace

void check_dicom_attribute_names(const std::vector<std::string>& keywords) { (void)tags_of(keywords, false); }

namespace {

std::map<std::string, std::string> attributes_of(DcmFileFormat& file,
                                                 const std::vector<std::pair<std::string, DcmTag>>& tags) {
  DcmDataset& ds = *file.getDataset();
  std::map<std::string, std::string> out;
  for (const auto& [keyword, tag] : tags) {
    DcmElement* e = nullptr;
    if (ds.findAndGetElement(tag, e, OFFalse).bad() || e == nullptr) continue;
    const DcmEVR vr = e->ident();  // sequences and bulk binary values are not header text
    if (vr == EVR_SQ || vr == EVR_OB || vr == EVR_OW || vr == EVR_OF || vr == EVR_OD || vr == EVR_OL ||
        vr == EVR_OV || vr == EVR_UN || vr == EVR_ox || vr == EVR_px || vr == EVR_pixelSQ || vr == EVR_PixelData ||
        vr == EVR_OverlayData)
      continue;
    OFString value;
    if (e->getOFStringArray(value).good()) out[keyword] = value.c_str();
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> dicom_attributes(std::string_view bytes, const std::vector<std::string>& keywords,
                                                    bool allow_identifying, const ImageLimits& limits) {
  // The names are checked before the file is read: a refused request learns nothing about it.
  const std::vector<std::pair<std::string, DcmTag>> tags = tags_of(keywords, allow_identifying);
  return attributes_of(*read_dicom(bytes, limits), tags);
}

std::string dicom_caption(std::string_view bytes, const std::vector<std::string>& keywords, const ImageLimits& limits) {
  if (keywords.empty()) return "";
  check_dicom_attribute_names(keywords);  // before the file is read
  return dicom_caption(*read_dicom(bytes, limits), keywords);
}

std::string dicom_caption(DcmFileFormat& file, const std::vector<std::string>& keywords) {
  if (keywords.empty()) return "";
  const std::map<std::string, std::string> values = attributes_of(file, tags_of(keywords, false));
  std::string caption;
  for (const std::string& k : keywords) {
    const auto it = values.find(k);
    if (it == values.end()) continue;
    std::string value = it->second.substr(0, 256);  // header text, one line, bounded
    for (char& c : value)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    caption += (caption.empty() ? "[DICOM " : "; ") + k + ": " + value;
  }
  return caption.empty() ? "" : caption + "]\n";
}

}  // namespace citadel
