// Images in API requests: data: URLs (image/png, image/jpeg, application/dicom) and bare base64
// strings are decoded through media/ with its limits; remote http(s) URLs are refused — the
// server never fetches anything. A prompt with images is tokenized with each image's projector
// rows where the text says "<image>" (engine/multimodal_prompt.h). Every failure is a 400 naming
// the field. Internal to server/.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/request.h"
#include "media/image.h"

namespace citadel {

struct ServedModel;

Image decode_data_url(const std::string& url, const std::string& field, const DicomOptions& dicom = {});
Image decode_base64_image(const std::string& base64, const std::string& field, const DicomOptions& dicom = {});

// A request's "dicom" object: {"window": "lung" | {"center": C, "width": W}, "frame": N,
// "attributes": ["Modality", ...]} (each optional; applied to DICOM images only). 400 naming
// `field` for anything else, an unknown preset or an attribute that may identify the patient.
DicomOptions parse_dicom_options(const nlohmann::json& j, const std::string& field);

// 400 unless the model was served with a vision projector (--mmproj / mmproj:).
void require_vision(const ServedModel& m, const std::string& field);

// An image as a request names it (a data: URL or bare base64), decoded only once the model is
// known to take images: a text model answers "does not take images" whatever the bytes are.
struct ImageRef {
  std::string source;
  std::string field;
  DicomOptions dicom;
};
std::vector<Image> decode_images(const ServedModel& m, const std::vector<ImageRef>& refs);

// Fills r.prompt and r.embeddings from `text` (BOS at the start) and the images, in order.
void encode_prompt_with_images(ServedModel& m, const std::string& text, const std::vector<Image>& images,
                               bool parse_special, GenerationRequest& r, const std::string& field);

}  // namespace citadel
