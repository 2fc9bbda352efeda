// DICOM pixels through DCMTK (see dicom_image.h). DCMTK unpacks the stored values of one frame
// (bits stored, high bit, sign, planar configuration, compressed syntaxes, colour models); the
// grey-scale rendering after that is ours, in double precision, so that it is the formula the
// standard gives (PS3.3 C.11.1 modality rescale, C.11.2.1.2 VOI window) and nothing else:
//   value = stored * RescaleSlope + RescaleIntercept
//   LINEAR (the default, presets and explicit windows):
//     value <= c - 0.5 - (w-1)/2  -> 0
//     value >  c - 0.5 + (w-1)/2  -> 255
//     else round(((value - (c - 0.5)) / (w-1) + 0.5) * 255)
//   LINEAR_EXACT: round(clamp((value - c) / w + 0.5, 0, 1) * 255)
//   SIGMOID:      round(255 / (1 + exp(-4 (value - c) / w)))
//   MONOCHROME1:  255 - the above (its low values are white)
// Without a window in the file (or a preset/explicit one) the frame's own minimum..maximum is used.
#include "media/dicom_image.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmimage/diregist.h"  // colour images
#include "dcmtk/dcmimgle/dcmimage.h"
#include "dcmtk/dcmimgle/dipixel.h"
#include "media/dicom_attributes.h"
#include "media/dicom_dataset.h"
#include "media/dicom_window.h"

namespace citadel {

namespace {

// RLE Lossless frames are checked here before DCMTK decodes them: its RLE decoder (Debian 12's
// DCMTK) reads past a fragment whose header lies (found by fuzz/dicom_fuzz). PS3.5 A.4.2: one
// fragment per frame, a 64-byte header of little-endian uint32 - the segment count (1..15) and
// each segment's offset, increasing, from 64 and inside the fragment.
void check_rle_fragments(DcmDataset& ds, E_TransferSyntax xfer, int frames) {
  DcmElement* elem = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, elem).bad() || elem == nullptr)
    throw ImageError("DICOM image: no pixel data");
  DcmPixelSequence* seq = nullptr;
  if (static_cast<DcmPixelData*>(elem)->getEncapsulatedRepresentation(xfer, nullptr, seq).bad() || seq == nullptr)
    throw ImageError("DICOM image: the RLE pixel data is not encapsulated");
  if (seq->card() < static_cast<unsigned long>(frames) + 1)  // item 0 is the offset table
    throw ImageError("DICOM image: fewer RLE fragments than frames");
  for (unsigned long i = 1; i < seq->card(); ++i) {
    DcmPixelItem* item = nullptr;
    Uint8* bytes = nullptr;
    if (seq->getItem(item, i).bad() || item == nullptr || item->getUint8Array(bytes).bad() || bytes == nullptr)
      throw ImageError("DICOM image: unreadable RLE fragment");
    const uint64_t length = item->getLength();
    auto u32 = [&](int k) {
      return uint32_t(bytes[4 * k]) | uint32_t(bytes[4 * k + 1]) << 8 | uint32_t(bytes[4 * k + 2]) << 16 |
             uint32_t(bytes[4 * k + 3]) << 24;
    };
    if (length < 64) throw ImageError("DICOM image: an RLE fragment is shorter than its header");
    const uint32_t segments = u32(0);
    if (segments < 1 || segments > 15) throw ImageError("DICOM image: bad RLE segment count");
    uint64_t previous = 63;
    for (uint32_t k = 1; k <= segments; ++k) {
      const uint64_t offset = u32(static_cast<int>(k));
      if (offset <= previous || offset >= length) throw ImageError("DICOM image: bad RLE segment offset");
      previous = offset;
    }
  }
}


struct Window {
  double center = 0, width = 0;
  enum Function { Linear, LinearExact, Sigmoid } function = Linear;
};

uint8_t apply_window(double x, const Window& w) {
  double y;
  switch (w.function) {
    case Window::LinearExact:
      y = std::clamp((x - w.center) / w.width + 0.5, 0.0, 1.0) * 255.0;
      break;
    case Window::Sigmoid:
      y = 255.0 / (1.0 + std::exp(-4.0 * (x - w.center) / w.width));
      break;
    default:
      if (x <= w.center - 0.5 - (w.width - 1) / 2) return 0;
      if (x > w.center - 0.5 + (w.width - 1) / 2) return 255;
      y = ((x - (w.center - 0.5)) / (w.width - 1) + 0.5) * 255.0;
  }
  return static_cast<uint8_t>(std::lround(std::clamp(y, 0.0, 255.0)));
}

template <typename T>
void stored_to_modality(const void* data, size_t n, double slope, double intercept, std::vector<double>& out) {
  const T* p = static_cast<const T*>(data);
  out.resize(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<double>(p[i]) * slope + intercept;
}

std::string get_string(DcmItem& ds, const DcmTagKey& tag) {
  OFString s;
  if (ds.findAndGetOFString(tag, s).bad()) return {};
  return std::string(s.c_str());
}

}  // namespace

Image decode_dicom(std::string_view bytes, const ImageLimits& limits, const DicomOptions& options) {
  if (!options.attributes.empty()) check_dicom_attribute_names(options.attributes);  // before reading
  std::unique_ptr<DcmFileFormat> file = read_dicom(bytes, limits);
  DcmDataset& ds = *file->getDataset();
  std::string caption = dicom_caption(*file, options.attributes);  // from the header as read

  // The geometry, checked against the limits before a pixel is decoded.
  Uint16 rows = 0, cols = 0, spp = 0, bits_allocated = 0;
  ds.findAndGetUint16(DCM_Rows, rows);
  ds.findAndGetUint16(DCM_Columns, cols);
  if (ds.findAndGetUint16(DCM_SamplesPerPixel, spp).bad()) spp = 1;
  ds.findAndGetUint16(DCM_BitsAllocated, bits_allocated);
  if (!ds.tagExists(DCM_PixelData)) throw ImageError("DICOM file has no pixel data (not an image)");
  if (rows == 0 || cols == 0) throw ImageError("DICOM image: Rows and Columns must be given and not zero");
  const int64_t pixels = int64_t(rows) * cols;
  if (pixels > limits.max_pixels)
    throw ImageError("DICOM image of " + std::to_string(cols) + "x" + std::to_string(rows) +
                     " pixels is over the limit of " + std::to_string(limits.max_pixels) + " pixels");
  if (spp != 1 && spp != 3) throw ImageError("DICOM image: SamplesPerPixel must be 1 or 3");
  if (bits_allocated != 1 && bits_allocated != 8 && bits_allocated != 16 && bits_allocated != 32)
    throw ImageError("DICOM image: BitsAllocated must be 1, 8, 16 or 32");
  Sint32 frames = 1;
  if (ds.findAndGetSint32(DCM_NumberOfFrames, frames).bad()) frames = 1;
  if (frames < 1) frames = 1;
  if (options.frame < 0 || options.frame >= frames)
    throw ImageError("DICOM image: frame " + std::to_string(options.frame) + " asked for, the file has " +
                     std::to_string(frames));
  const E_TransferSyntax xfer = ds.getOriginalXfer();
  if (xfer == EXS_RLELossless) check_rle_fragments(ds, xfer, frames);
  if (!DcmXfer(xfer).isEncapsulated()) {
    // Native pixel data must hold every pixel of the frame asked for (DCMTK would pad with zeros).
    DcmElement* px = nullptr;
    ds.findAndGetElement(DCM_PixelData, px);
    const uint64_t frame_bits = uint64_t(pixels) * spp * bits_allocated;
    const uint64_t need = (frame_bits * (uint64_t(options.frame) + 1) + 7) / 8;
    if (px == nullptr || px->getLength() < need)
      throw ImageError("DICOM image: the pixel data is shorter than Rows x Columns x SamplesPerPixel x "
                       "BitsAllocated say");
  }

  const std::string photometric = get_string(ds, DCM_PhotometricInterpretation);
  const bool mono = photometric == "MONOCHROME1" || photometric == "MONOCHROME2";
  if (spp == 1 && !mono && photometric != "PALETTE COLOR")
    throw ImageError("DICOM image: unsupported PhotometricInterpretation for one sample per pixel");

  // Modality values are ours to compute: DCMTK hands over the stored values unchanged.
  unsigned long flags = CIF_UsePartialAccessToPixelData;
  if (mono) flags |= CIF_IgnoreModalityTransformation;
  DicomImage image(&ds, xfer, flags, static_cast<unsigned long>(options.frame), 1);
  if (image.getStatus() != EIS_Normal)
    throw ImageError(std::string("DICOM image cannot be decoded: ") + DicomImage::getString(image.getStatus()));
  if (image.getWidth() != cols || image.getHeight() != rows)
    throw ImageError("DICOM image: decoded size differs from Rows and Columns");

  Image out;
  out.caption = std::move(caption);
  out.width = cols;
  out.height = rows;
  out.rgb.resize(size_t(pixels) * 3);
  if (!mono) {
    const void* rgb = image.getOutputData(8, 0, 0);
    if (rgb == nullptr || image.getOutputDataSize(8) != size_t(pixels) * 3)
      throw ImageError("DICOM image: colour pixels cannot be decoded");
    std::memcpy(out.rgb.data(), rgb, out.rgb.size());
    return out;
  }

  const DiPixel* inter = image.getInterData();
  if (inter == nullptr || inter->getData() == nullptr || inter->getCount() < size_t(pixels))
    throw ImageError("DICOM image: pixels cannot be decoded");
  double slope = 1, intercept = 0;
  if (ds.findAndGetFloat64(DCM_RescaleSlope, slope).bad()) slope = 1;
  if (ds.findAndGetFloat64(DCM_RescaleIntercept, intercept).bad()) intercept = 0;
  if (!std::isfinite(slope) || !std::isfinite(intercept) || slope == 0)
    throw ImageError("DICOM image: RescaleSlope/RescaleIntercept are not usable numbers");
  std::vector<double> values;
  switch (inter->getRepresentation()) {
    case EPR_Uint8: stored_to_modality<Uint8>(inter->getData(), pixels, slope, intercept, values); break;
    case EPR_Sint8: stored_to_modality<Sint8>(inter->getData(), pixels, slope, intercept, values); break;
    case EPR_Uint16: stored_to_modality<Uint16>(inter->getData(), pixels, slope, intercept, values); break;
    case EPR_Sint16: stored_to_modality<Sint16>(inter->getData(), pixels, slope, intercept, values); break;
    case EPR_Uint32: stored_to_modality<Uint32>(inter->getData(), pixels, slope, intercept, values); break;
    case EPR_Sint32: stored_to_modality<Sint32>(inter->getData(), pixels, slope, intercept, values); break;
    default: throw ImageError("DICOM image: unsupported pixel representation");
  }

  Window w;
  if (options.window_width > 0) {
    w.center = options.window_center;
    w.width = options.window_width;
  } else if (!options.window_preset.empty()) {
    const DicomWindowPreset* preset = find_dicom_window_preset(options.window_preset);
    if (preset == nullptr) throw ImageError("unknown DICOM window preset '" + options.window_preset + "' (" +
                                            dicom_window_preset_names() + ")");
    w.center = preset->center;
    w.width = preset->width;
  } else {
    Float64 c = 0, width = 0;
    if (ds.findAndGetFloat64(DCM_WindowCenter, c).good() && ds.findAndGetFloat64(DCM_WindowWidth, width).good() &&
        std::isfinite(c) && std::isfinite(width) && width >= 1) {
      w.center = c;
      w.width = width;
      const std::string fn = get_string(ds, DCM_VOILUTFunction);
      if (fn == "LINEAR_EXACT") w.function = Window::LinearExact;
      if (fn == "SIGMOID") w.function = Window::Sigmoid;
    } else {
      const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
      w.center = (*lo + *hi) / 2 + 0.5;
      w.width = *hi - *lo + 1;
    }
  }
  if (!(w.width >= 1) || !std::isfinite(w.center) || !std::isfinite(w.width))
    throw ImageError("DICOM window: the width must be at least 1");
  const bool invert = photometric == "MONOCHROME1";
  for (size_t i = 0; i < size_t(pixels); ++i) {
    uint8_t g = apply_window(values[i], w);
    if (invert) g = 255 - g;
    out.rgb[3 * i] = out.rgb[3 * i + 1] = out.rgb[3 * i + 2] = g;
  }
  return out;
}

}  // namespace citadel
