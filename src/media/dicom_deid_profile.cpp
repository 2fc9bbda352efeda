// PS3.15 Table E.1-1 (2024 edition), the rows that occur in image files. Tags ascending.
#include "media/dicom_deid_profile.h"

#include <algorithm>

namespace citadel {

namespace {
using A = DeidAction;
const std::vector<DeidRule> kProfile = {
    {0x0008, 0x0014, "InstanceCreatorUID", A::Uid, false},
    {0x0008, 0x0018, "SOPInstanceUID", A::Uid, false},
    {0x0008, 0x0020, "StudyDate", A::Empty, false},
    {0x0008, 0x0021, "SeriesDate", A::Remove, false},
    {0x0008, 0x0022, "AcquisitionDate", A::Remove, false},
    {0x0008, 0x0023, "ContentDate", A::Empty, false},
    {0x0008, 0x0024, "OverlayDate", A::Remove, false},
    {0x0008, 0x0025, "CurveDate", A::Remove, false},
    {0x0008, 0x002A, "AcquisitionDateTime", A::Remove, false},
    {0x0008, 0x0030, "StudyTime", A::Empty, false},
    {0x0008, 0x0031, "SeriesTime", A::Remove, false},
    {0x0008, 0x0032, "AcquisitionTime", A::Remove, false},
    {0x0008, 0x0033, "ContentTime", A::Empty, false},
    {0x0008, 0x0034, "OverlayTime", A::Remove, false},
    {0x0008, 0x0035, "CurveTime", A::Remove, false},
    {0x0008, 0x0050, "AccessionNumber", A::Empty, false},
    {0x0008, 0x0080, "InstitutionName", A::Remove, false},
    {0x0008, 0x0081, "InstitutionAddress", A::Remove, false},
    {0x0008, 0x0090, "ReferringPhysicianName", A::Empty, false},
    {0x0008, 0x0092, "ReferringPhysicianAddress", A::Remove, false},
    {0x0008, 0x0094, "ReferringPhysicianTelephoneNumbers", A::Remove, false},
    {0x0008, 0x0096, "ReferringPhysicianIdentificationSequence", A::Remove, false},
    {0x0008, 0x0201, "TimezoneOffsetFromUTC", A::Remove, false},
    {0x0008, 0x1010, "StationName", A::Remove, false},
    {0x0008, 0x1030, "StudyDescription", A::Remove, true},
    {0x0008, 0x103E, "SeriesDescription", A::Remove, true},
    {0x0008, 0x1040, "InstitutionalDepartmentName", A::Remove, false},
    {0x0008, 0x1048, "PhysiciansOfRecord", A::Remove, false},
    {0x0008, 0x1049, "PhysiciansOfRecordIdentificationSequence", A::Remove, false},
    {0x0008, 0x1050, "PerformingPhysicianName", A::Remove, false},
    {0x0008, 0x1052, "PerformingPhysicianIdentificationSequence", A::Remove, false},
    {0x0008, 0x1060, "NameOfPhysiciansReadingStudy", A::Remove, false},
    {0x0008, 0x1062, "PhysiciansReadingStudyIdentificationSequence", A::Remove, false},
    {0x0008, 0x1070, "OperatorsName", A::Remove, false},
    {0x0008, 0x1072, "OperatorIdentificationSequence", A::Remove, false},
    {0x0008, 0x1080, "AdmittingDiagnosesDescription", A::Remove, true},
    {0x0008, 0x1084, "AdmittingDiagnosesCodeSequence", A::Remove, false},
    {0x0008, 0x1120, "ReferencedPatientSequence", A::Remove, false},
    {0x0008, 0x1155, "ReferencedSOPInstanceUID", A::Uid, false},
    {0x0008, 0x2111, "DerivationDescription", A::Remove, true},
    {0x0008, 0x3010, "IrradiationEventUID", A::Uid, false},
    {0x0008, 0x4000, "IdentifyingComments", A::Remove, false},
    {0x0010, 0x0010, "PatientName", A::Empty, false},
    {0x0010, 0x0020, "PatientID", A::Empty, false},
    {0x0010, 0x0021, "IssuerOfPatientID", A::Remove, false},
    {0x0010, 0x0030, "PatientBirthDate", A::Empty, false},
    {0x0010, 0x0032, "PatientBirthTime", A::Remove, false},
    {0x0010, 0x0040, "PatientSex", A::Empty, false},
    {0x0010, 0x0050, "PatientInsurancePlanCodeSequence", A::Remove, false},
    {0x0010, 0x1000, "OtherPatientIDs", A::Remove, false},
    {0x0010, 0x1001, "OtherPatientNames", A::Remove, false},
    {0x0010, 0x1002, "OtherPatientIDsSequence", A::Remove, false},
    {0x0010, 0x1005, "PatientBirthName", A::Remove, false},
    {0x0010, 0x1010, "PatientAge", A::Remove, false},
    {0x0010, 0x1020, "PatientSize", A::Remove, false},
    {0x0010, 0x1030, "PatientWeight", A::Remove, false},
    {0x0010, 0x1040, "PatientAddress", A::Remove, false},
    {0x0010, 0x1060, "PatientMotherBirthName", A::Remove, false},
    {0x0010, 0x1080, "MilitaryRank", A::Remove, false},
    {0x0010, 0x1081, "BranchOfService", A::Remove, false},
    {0x0010, 0x1090, "MedicalRecordLocator", A::Remove, false},
    {0x0010, 0x2000, "MedicalAlerts", A::Remove, false},
    {0x0010, 0x2110, "Allergies", A::Remove, false},
    {0x0010, 0x2150, "CountryOfResidence", A::Remove, false},
    {0x0010, 0x2152, "RegionOfResidence", A::Remove, false},
    {0x0010, 0x2154, "PatientTelephoneNumbers", A::Remove, false},
    {0x0010, 0x2160, "EthnicGroup", A::Remove, false},
    {0x0010, 0x2180, "Occupation", A::Remove, false},
    {0x0010, 0x21A0, "SmokingStatus", A::Remove, false},
    {0x0010, 0x21B0, "AdditionalPatientHistory", A::Remove, true},
    {0x0010, 0x21C0, "PregnancyStatus", A::Remove, false},
    {0x0010, 0x21F0, "PatientReligiousPreference", A::Remove, false},
    {0x0010, 0x4000, "PatientComments", A::Remove, true},
    {0x0018, 0x1000, "DeviceSerialNumber", A::Remove, false},
    {0x0018, 0x1030, "ProtocolName", A::Remove, true},
    {0x0018, 0x4000, "AcquisitionComments", A::Remove, true},
    {0x0018, 0x9424, "AcquisitionProtocolDescription", A::Remove, true},
    {0x0020, 0x000D, "StudyInstanceUID", A::Uid, false},
    {0x0020, 0x000E, "SeriesInstanceUID", A::Uid, false},
    {0x0020, 0x0010, "StudyID", A::Empty, false},
    {0x0020, 0x0052, "FrameOfReferenceUID", A::Uid, false},
    {0x0020, 0x0200, "SynchronizationFrameOfReferenceUID", A::Uid, false},
    {0x0020, 0x4000, "ImageComments", A::Remove, true},
    {0x0020, 0x9161, "ConcatenationUID", A::Uid, false},
    {0x0020, 0x9164, "DimensionOrganizationUID", A::Uid, false},
    {0x0028, 0x1214, "LargePaletteColorLookupTableUID", A::Uid, false},
    {0x0032, 0x1032, "RequestingPhysician", A::Remove, false},
    {0x0032, 0x1033, "RequestingService", A::Remove, false},
    {0x0032, 0x1060, "RequestedProcedureDescription", A::Remove, true},
    {0x0032, 0x4000, "StudyComments", A::Remove, true},
    {0x0038, 0x0010, "AdmissionID", A::Remove, false},
    {0x0038, 0x0300, "CurrentPatientLocation", A::Remove, false},
    {0x0038, 0x0400, "PatientInstitutionResidence", A::Remove, false},
    {0x0038, 0x0500, "PatientState", A::Remove, false},
    {0x0040, 0x0241, "PerformedStationAETitle", A::Remove, false},
    {0x0040, 0x0242, "PerformedStationName", A::Remove, false},
    {0x0040, 0x0243, "PerformedLocation", A::Remove, false},
    {0x0040, 0x0244, "PerformedProcedureStepStartDate", A::Remove, false},
    {0x0040, 0x0245, "PerformedProcedureStepStartTime", A::Remove, false},
    {0x0040, 0x0250, "PerformedProcedureStepEndDate", A::Remove, false},
    {0x0040, 0x0251, "PerformedProcedureStepEndTime", A::Remove, false},
    {0x0040, 0x0253, "PerformedProcedureStepID", A::Remove, false},
    {0x0040, 0x0254, "PerformedProcedureStepDescription", A::Remove, true},
    {0x0040, 0x0275, "RequestAttributesSequence", A::Remove, false},
    {0x0040, 0x0280, "CommentsOnThePerformedProcedureStep", A::Remove, true},
    {0x0040, 0x1001, "RequestedProcedureID", A::Remove, false},
    {0x0040, 0x2016, "PlacerOrderNumberImagingServiceRequest", A::Remove, false},
    {0x0040, 0x2017, "FillerOrderNumberImagingServiceRequest", A::Remove, false},
    {0x0040, 0xA027, "VerifyingOrganization", A::Remove, false},
    {0x0040, 0xA073, "VerifyingObserverSequence", A::Remove, false},
    {0x0040, 0xA123, "PersonName", A::Dummy, false},
    {0x0040, 0xA124, "UID", A::Uid, false},
    {0x0040, 0xA730, "ContentSequence", A::Remove, false},
    {0x0070, 0x0084, "ContentCreatorName", A::Empty, false},
    {0x0088, 0x0140, "StorageMediaFileSetUID", A::Uid, false},
    {0x3006, 0x0024, "ReferencedFrameOfReferenceUID", A::Uid, false},
    {0x3006, 0x00C2, "RelatedFrameOfReferenceUID", A::Uid, false},
    {0x4000, 0x4000, "TextComments", A::Remove, false},
};
}  // namespace

const std::vector<DeidRule>& dicom_basic_profile() { return kProfile; }

const DeidRule* find_deid_rule(uint16_t group, uint16_t element) {
  const uint32_t key = uint32_t(group) << 16 | element;
  auto it = std::lower_bound(kProfile.begin(), kProfile.end(), key, [](const DeidRule& r, uint32_t k) {
    return (uint32_t(r.group) << 16 | r.element) < k;
  });
  if (it == kProfile.end() || it->group != group || it->element != element) return nullptr;
  return &*it;
}

bool dicom_attribute_identifies(uint16_t group, uint16_t element) {
  if (group & 1) return true;  // private
  if ((group & 0xFF00) == 0x5000 || (group & 0xFF00) == 0x6000) return true;  // curves, overlays
  const DeidRule* r = find_deid_rule(group, element);
  return r != nullptr && r->action != DeidAction::Keep;
}

}  // namespace citadel
