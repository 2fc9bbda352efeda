#include "server/image_input.h"

#include <cmath>
#include <mutex>
#include <stdexcept>

#include "engine/multimodal_prompt.h"
#include "media/dicom_attributes.h"
#include "media/dicom_window.h"
#include "model/clip.h"
#include "server/api_error.h"
#include "server/served_model.h"

namespace citadel {

namespace {

// Standard or URL-safe alphabet, padding optional, whitespace skipped; nullopt-like empty + ok=false.
bool base64_decode(const std::string& in, std::string& out) {
  out.clear();
  out.reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char ch : in) {
    int v;
    if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
    else if (ch == '+' || ch == '-') v = 62;
    else if (ch == '/' || ch == '_') v = 63;
    else if (ch == '=') { ++pad; continue; }
    else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
    else return false;
    if (pad) return false;  // data after padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return pad <= 2;
}

ApiError bad_image(const std::string& field, const std::string& why) {
  return ApiError(400, "'" + field + "': " + why, field, "invalid_image");
}

}  // namespace

Image decode_base64_image(const std::string& base64, const std::string& field, const DicomOptions& dicom) {
  // Limits before decoding: the bytes can be no more than 3/4 of the text.
  const ImageLimits limits;
  if (static_cast<int64_t>(base64.size() / 4 * 3) > limits.max_bytes + 3)
    throw bad_image(field, "the image is larger than the " + std::to_string(limits.max_bytes) + " bytes allowed");
  std::string bytes;
  if (!base64_decode(base64, bytes)) throw bad_image(field, "the image data is not valid base64");
  if (bytes.empty()) throw bad_image(field, "the image is empty");
  try {
    return decode_image(bytes, limits, dicom);
  } catch (const ImageError& e) {
    throw bad_image(field, e.what());
  }
}

Image decode_data_url(const std::string& url, const std::string& field, const DicomOptions& dicom) {
  auto starts = [&](const char* p) { return url.rfind(p, 0) == 0; };
  if (starts("http://") || starts("https://") || starts("ftp://") || starts("file:"))
    throw bad_image(field, "remote image URLs are not fetched; send the image inline as a data: URL "
                           "(data:image/png;base64,...)");
  if (!starts("data:")) throw bad_image(field, "must be a data: URL (data:image/png;base64,...)");
  const size_t comma = url.find(',');
  if (comma == std::string::npos) throw bad_image(field, "the data: URL has no ','");
  const std::string meta = url.substr(5, comma - 5);
  const size_t semi = meta.find(';');
  const std::string mime = meta.substr(0, semi);
  if (mime != "image/png" && mime != "image/jpeg" && mime != "image/jpg" && mime != "application/dicom")
    throw bad_image(field, "image type '" + mime + "' is not supported (image/png, image/jpeg, application/dicom)");
  if (meta.find(";base64") == std::string::npos) throw bad_image(field, "the data: URL must be base64 (;base64,)");
  return decode_base64_image(url.substr(comma + 1), field, dicom);
}

DicomOptions parse_dicom_options(const nlohmann::json& j, const std::string& field) {
  DicomOptions o;
  if (j.is_null()) return o;
  if (!j.is_object()) throw ApiError(400, "'" + field + "' must be an object", field, "invalid_value");
  for (const auto& [key, value] : j.items()) {
    const std::string where = field + "." + key;
    auto bad = [&](const std::string& why) { return ApiError(400, "'" + where + "' " + why, where, "invalid_value"); };
    if (key == "window") {
      if (value.is_string()) {
        o.window_preset = value.get<std::string>();
        if (!find_dicom_window_preset(o.window_preset))
          throw bad("names no window preset (" + dicom_window_preset_names() + ")");
      } else if (value.is_object() && value.size() == 2 && value.contains("center") && value.contains("width") &&
                 value["center"].is_number() && value["width"].is_number()) {
        o.window_center = value["center"].get<double>();
        o.window_width = value["width"].get<double>();
        if (!std::isfinite(o.window_center) || !std::isfinite(o.window_width) || o.window_width < 1)
          throw bad("needs a finite center and a width of at least 1");
      } else {
        throw bad("must be a preset name or {\"center\": C, \"width\": W}");
      }
    } else if (key == "frame") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 1000000)
        throw bad("must be a frame number from 0");
      o.frame = value.get<int32_t>();
    } else if (key == "attributes") {
      if (!value.is_array() || value.size() > 32) throw bad("must be an array of at most 32 attribute keywords");
      for (const auto& a : value) {
        if (!a.is_string() || a.get<std::string>().empty() || a.get<std::string>().size() > 64)
          throw bad("must hold DICOM attribute keywords (\"Modality\", \"BodyPartExamined\")");
        o.attributes.push_back(a.get<std::string>());
      }
      try {  // refused names are refused before any image is read
        check_dicom_attribute_names(o.attributes);
      } catch (const ImageError& e) {
        throw bad(std::string("is refused: ") + e.what());
      }
    } else {
      throw bad("is not a DICOM option (window, frame, attributes)");
    }
  }
  return o;
}

void require_vision(const ServedModel& m, const std::string& field) {
  if (!m.clip)
    throw ApiError(400, "model '" + m.id + "' does not take images (serve it with a vision projector: --mmproj)", field,
                   "images_not_supported");
}

std::vector<Image> decode_images(const ServedModel& m, const std::vector<ImageRef>& refs) {
  std::vector<Image> images;
  if (refs.empty()) return images;
  require_vision(m, refs.front().field);
  // Each image takes n_patches positions: more than the context holds is refused before any is
  // decoded (a small PNG can declare 50 million pixels, so the count bounds the memory too).
  const int64_t positions = static_cast<int64_t>(refs.size()) * m.clip->n_patches();
  if (positions >= m.engine->context())
    throw ApiError(400, std::to_string(refs.size()) + " images take " + std::to_string(positions) +
                            " positions, but the context holds " + std::to_string(m.engine->context()),
                   refs.front().field, "context_length_exceeded");
  for (const ImageRef& r : refs)
    images.push_back(r.source.rfind("data:", 0) == 0 || r.source.find("://") != std::string::npos
                         ? decode_data_url(r.source, r.field, r.dicom)
                         : decode_base64_image(r.source, r.field, r.dicom));
  return images;
}

void encode_prompt_with_images(ServedModel& m, const std::string& text, const std::vector<Image>& images,
                               bool parse_special, GenerationRequest& r, const std::string& field) {
  require_vision(m, field);
  MultimodalPrompt mp;
  try {
    std::lock_guard<std::mutex> lock(m.vision_mu);  // one image encoding at a time, on its own threads
    mp = build_multimodal_prompt(*m.tokenizer, *m.clip, *m.vision_pool, text, images, true, parse_special);
  } catch (const std::invalid_argument& e) {
    throw ApiError(400, e.what(), field, "invalid_value");
  } catch (const ImageError& e) {
    throw bad_image(field, e.what());
  }
  r.prompt = std::move(mp.ids);
  r.embeddings = std::move(mp.embeddings);
}

}  // namespace citadel
