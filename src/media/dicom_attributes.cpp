#include "media/dicom_attributes.h"

#include <memory>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dctag.h"
#include "media/dicom_dataset.h"
#include "media/dicom_deid_profile.h"

namespace citadel {

std::map<std::string, std::string> dicom_attributes(std::string_view bytes, const std::vector<std::string>& keywords,
                                                    bool allow_identifying, const ImageLimits& limits) {
  dicom_init();
  // The names are checked before the file is read: a refused request learns nothing about it.
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
  std::unique_ptr<DcmFileFormat> file = read_dicom(bytes, limits);
  DcmDataset& ds = *file->getDataset();
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

}  // namespace citadel
