#include "media/dicom_anonymizer.h"

#include <memory>
#include <random>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcitem.h"
#include "dcmtk/dcmdata/dcsequen.h"
#include "media/dicom_dataset.h"
#include "media/dicom_deid_profile.h"

namespace citadel {

namespace {

// UIDs that name kinds of things, not instances: kept (a SOP class, a transfer syntax, a coding
// scheme identifies nobody, and replacing it would make the file unreadable).
bool names_a_class(DcmTag tag, const std::string& value) {
  if (value.rfind("1.2.840.10008.", 0) == 0) return true;  // the standard's own UIDs
  const std::string name = tag.getTagName();
  for (const char* part : {"ClassUID", "TransferSyntax", "CodingScheme", "MappingResource", "ContextUID"})
    if (name.find(part) != std::string::npos) return true;
  return false;
}

std::string dummy_for(DcmEVR vr) {
  switch (vr) {
    case EVR_PN: return "ANONYMOUS";
    case EVR_DA: return "19000101";
    case EVR_TM: return "000000";
    case EVR_DT: return "19000101000000";
    case EVR_AS: return "000Y";
    case EVR_IS:
    case EVR_DS: return "0";
    default: return "ANONYMIZED";
  }
}

}  // namespace

struct DicomAnonymizerWalk {
  DicomAnonymizer& self;
  DicomAnonymizeStats& stats;

  void map_uids(DcmElement& e) {
    OFString value;
    if (e.getOFStringArray(value).bad() || value.empty()) return;
    std::string in = value.c_str(), out;
    size_t start = 0;
    for (;;) {  // each of several values separated by '\'
      const size_t end = in.find('\\', start);
      std::string one = in.substr(start, end == std::string::npos ? std::string::npos : end - start);
      while (!one.empty() && (one.back() == ' ' || one.back() == '\0')) one.pop_back();
      out += one.empty() ? one : self.new_uid(one);
      if (end == std::string::npos) break;
      out += '\\';
      start = end + 1;
    }
    e.putString(out.c_str());
    ++stats.uids;
  }

  void item(DcmItem& it) {
    for (long i = static_cast<long>(it.card()) - 1; i >= 0; --i) {
      DcmElement* e = it.getElement(static_cast<unsigned long>(i));
      if (e == nullptr) continue;
      DcmTag tag = e->getTag();
      const uint16_t g = tag.getGroup(), el = tag.getElement();
      if (g & 1) {  // private attributes and their creators
        delete it.remove(static_cast<unsigned long>(i));
        ++stats.private_removed;
        continue;
      }
      if ((g & 0xFF00) == 0x5000 || ((g & 0xFF00) == 0x6000 && (el == 0x3000 || el == 0x4000))) {
        delete it.remove(static_cast<unsigned long>(i));  // curve data, overlay data and comments
        ++stats.removed;
        continue;
      }
      const DeidRule* rule = find_deid_rule(g, el);
      DeidAction action = rule ? rule->action : DeidAction::Keep;
      if (rule && rule->cleanable && self.options_.clean_descriptions && self.options_.clean_text)
        action = DeidAction::Clean;
      switch (action) {
        case DeidAction::Remove:
          delete it.remove(static_cast<unsigned long>(i));
          ++stats.removed;
          continue;
        case DeidAction::Empty:
          e->clear();
          ++stats.emptied;
          continue;
        case DeidAction::Dummy:
          if (e->ident() == EVR_SQ || e->ident() == EVR_UI) {
            e->clear();
          } else {
            e->putString(dummy_for(e->ident()).c_str());
          }
          ++stats.dummies;
          continue;
        case DeidAction::Clean: {
          OFString value;
          if (e->getOFStringArray(value).good()) e->putString(self.options_.clean_text(value.c_str()).c_str());
          ++stats.cleaned;
          continue;
        }
        case DeidAction::Uid:
          map_uids(*e);
          continue;
        case DeidAction::Keep:
          break;
      }
      if (e->ident() == EVR_UI) {
        OFString value;
        if (e->getOFStringArray(value).good() && !value.empty() && !names_a_class(tag, value.c_str())) map_uids(*e);
      } else if (e->ident() == EVR_SQ) {
        auto* seq = static_cast<DcmSequenceOfItems*>(e);
        for (unsigned long k = 0; k < seq->card(); ++k)
          if (DcmItem* sub = seq->getItem(k)) item(*sub);
      }
    }
  }
};

DicomAnonymizer::DicomAnonymizer(DicomAnonymizeOptions options) : options_(std::move(options)) {}

std::string DicomAnonymizer::new_uid(const std::string& old) {
  auto it = uids_.find(old);
  if (it != uids_.end()) return it->second;
  // PS3.5 B.2: "2.25." and a UUID's 128 bits as one decimal number.
  static thread_local std::random_device rd;
  unsigned __int128 v = 0;
  for (int i = 0; i < 4; ++i) v = v << 32 | rd();
  std::string digits;
  do {
    digits.insert(digits.begin(), char('0' + int(v % 10)));
    v /= 10;
  } while (v != 0);
  std::string uid = "2.25." + digits;
  uids_.emplace(old, uid);
  return uid;
}

std::string DicomAnonymizer::anonymize(std::string_view bytes, DicomAnonymizeStats* stats_out) {
  std::unique_ptr<DcmFileFormat> file = read_dicom(bytes, options_.limits);
  DcmDataset& ds = *file->getDataset();
  OFString burned;
  if (!options_.accept_burned_in && ds.findAndGetOFString(DCM_BurnedInAnnotation, burned).good() &&
      burned == "YES")
    throw ImageError("DICOM file says its pixels carry burned-in text (BurnedInAnnotation = YES): the basic "
                     "profile cannot remove it; refused (accept it explicitly to go on)");
  DicomAnonymizeStats stats;
  DicomAnonymizerWalk{*this, stats}.item(ds);
  ds.putAndInsertString(DCM_PatientIdentityRemoved, "YES");
  ds.putAndInsertString(DCM_DeidentificationMethod,
                        options_.clean_descriptions ? "PS3.15 Basic Profile, Clean Descriptors; citadel"
                                                    : "PS3.15 Basic Profile; citadel dicom-anonymize");
  // The coded form (PS3.16 CID 7050): 113100 basic profile, 113105 clean descriptors option.
  ds.findAndDeleteElement(DCM_DeidentificationMethodCodeSequence);
  const auto add_code = [&](const char* value, const char* meaning) {
    DcmItem* code = nullptr;
    if (ds.findOrCreateSequenceItem(DCM_DeidentificationMethodCodeSequence, code, -2).good() && code) {
      code->putAndInsertString(DCM_CodeValue, value);
      code->putAndInsertString(DCM_CodingSchemeDesignator, "DCM");
      code->putAndInsertString(DCM_CodeMeaning, meaning);
    }
  };
  add_code("113100", "Basic Application Confidentiality Profile");
  if (options_.clean_descriptions) add_code("113105", "Clean Descriptors Option");
  std::string out = write_dicom(*file);
  if (stats_out) *stats_out = stats;
  return out;
}

}  // namespace citadel
