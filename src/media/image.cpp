// PNG through libpng and JPEG through libjpeg-turbo, both from memory. Neither library may exit or
// print: their error paths longjmp back here and become an ImageError. The dimensions are read
// from the header and checked against the limits before any pixel buffer is allocated.
#include "media/image.h"

#include <png.h>
#include <csetjmp>
#include <cstdio>
#include <cstring>
// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>
#include <jerror.h>

#include "media/dicom_image.h"

namespace citadel {

ImageFormat sniff_image_format(std::string_view b) {
  static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (b.size() >= 8 && std::memcmp(b.data(), png_sig, 8) == 0) return ImageFormat::Png;
  if (b.size() >= 3 && static_cast<unsigned char>(b[0]) == 0xFF && static_cast<unsigned char>(b[1]) == 0xD8 &&
      static_cast<unsigned char>(b[2]) == 0xFF)
    return ImageFormat::Jpeg;
  if (b.size() >= 132 && b.substr(128, 4) == "DICM") return ImageFormat::Dicom;
  return ImageFormat::Unknown;
}

namespace {

void check_dimensions(const char* kind, int64_t w, int64_t h, const ImageLimits& limits) {
  if (w <= 0 || h <= 0) throw ImageError(std::string(kind) + " image has no pixels (" + std::to_string(w) + "x" +
                                         std::to_string(h) + ")");
  if (w * h > limits.max_pixels)
    throw ImageError(std::string(kind) + " image is " + std::to_string(w) + "x" + std::to_string(h) + ", more than the " +
                     std::to_string(limits.max_pixels) + " pixels allowed");
}

// ---- PNG ----

struct PngReader {
  std::string_view bytes;
  size_t pos = 0;
  char message[200] = "";
};

void png_read_mem(png_structp png, png_bytep out, png_size_t n) {
  auto* r = static_cast<PngReader*>(png_get_io_ptr(png));
  if (n > r->bytes.size() - r->pos) png_error(png, "the PNG data ends early (truncated file)");
  std::memcpy(out, r->bytes.data() + r->pos, n);
  r->pos += n;
}

void png_on_error(png_structp png, png_const_charp msg) {
  auto* r = static_cast<PngReader*>(png_get_error_ptr(png));
  std::snprintf(r->message, sizeof r->message, "%s", msg);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}  // warnings are not errors, and never printed

// Everything that must survive a longjmp lives outside the function that calls setjmp.
struct PngState {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngState() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

void decode_png_into(PngState& st, PngReader& reader, const ImageLimits& limits, Image& out,
                     std::vector<png_bytep>& rows, std::string& refusal) {
  if (setjmp(png_jmpbuf(st.png))) return;  // reader.message says why
  png_set_read_fn(st.png, &reader, png_read_mem);
  // libpng's own bounds: no larger than the limits let through, and bounded chunk memory.
  png_set_user_limits(st.png, 1u << 20, 1u << 20);
  png_set_chunk_malloc_max(st.png, 8u << 20);
  png_read_info(st.png, st.info);
  png_uint_32 w = 0, h = 0;
  int depth = 0, color = 0;
  png_get_IHDR(st.png, st.info, &w, &h, &depth, &color, nullptr, nullptr, nullptr);
  try {
    check_dimensions("the PNG", w, h, limits);
  } catch (const ImageError& e) {
    refusal = e.what();
    return;
  }
  // Every layout to 8-bit RGB: palette expanded, grey widened, 16 bits cut, alpha dropped.
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(st.png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(st.png);
  if (png_get_valid(st.png, st.info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(st.png);
  if (depth == 16) png_set_strip_16(st.png);
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(st.png);
  png_set_strip_alpha(st.png);
  png_set_interlace_handling(st.png);
  png_read_update_info(st.png, st.info);
  if (png_get_rowbytes(st.png, st.info) != static_cast<size_t>(w) * 3) {
    refusal = "the PNG's pixel layout could not be converted to RGB";
    return;
  }
  out.width = static_cast<int32_t>(w);
  out.height = static_cast<int32_t>(h);
  out.rgb.resize(static_cast<size_t>(w) * h * 3);
  rows.resize(h);
  for (png_uint_32 y = 0; y < h; ++y) rows[y] = out.rgb.data() + static_cast<size_t>(y) * w * 3;
  png_read_image(st.png, rows.data());
}

Image decode_png(std::string_view bytes, const ImageLimits& limits) {
  PngReader reader{bytes};
  PngState st;
  st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, png_on_error, png_on_warning);
  if (!st.png) throw ImageError("the PNG decoder could not start");
  st.info = png_create_info_struct(st.png);
  if (!st.info) throw ImageError("the PNG decoder could not start");
  Image out;
  std::vector<png_bytep> rows;
  std::string refusal;
  reader.message[0] = '\0';
  decode_png_into(st, reader, limits, out, rows, refusal);
  if (!refusal.empty()) throw ImageError(refusal);
  if (reader.message[0]) throw ImageError(std::string("bad PNG: ") + reader.message);
  return out;
}

// ---- JPEG ----

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = "";
  bool truncated = false;  // the data ended before the image did (the library pads it with grey)
};

void jpeg_on_error(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  std::longjmp(e->jump, 1);
}

// Warnings stay quiet; a premature end of data is remembered and refused (a truncated upload).
void jpeg_on_message(j_common_ptr cinfo, int level) {
  if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) reinterpret_cast<JpegError*>(cinfo->err)->truncated = true;
}

struct JpegState {
  jpeg_decompress_struct cinfo{};
  JpegError err{};
  bool created = false;
  ~JpegState() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

void decode_jpeg_into(JpegState& st, std::string_view bytes, const ImageLimits& limits, Image& out,
                      std::string& refusal) {
  if (setjmp(st.err.jump)) return;  // st.err.message says why
  jpeg_create_decompress(&st.cinfo);
  st.created = true;
  // Hostile files can ask for huge marker or progressive buffers: cap the library's memory.
  st.cinfo.mem->max_memory_to_use = 512L << 20;
  jpeg_mem_src(&st.cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&st.cinfo, TRUE);
  try {
    check_dimensions("the JPEG", st.cinfo.image_width, st.cinfo.image_height, limits);
  } catch (const ImageError& e) {
    refusal = e.what();
    return;
  }
  if (st.cinfo.jpeg_color_space == JCS_CMYK || st.cinfo.jpeg_color_space == JCS_YCCK) {
    refusal = "CMYK JPEG images are not supported (convert the image to RGB)";
    return;
  }
  st.cinfo.out_color_space = JCS_RGB;  // greyscale is widened by the library
  jpeg_start_decompress(&st.cinfo);
  if (st.cinfo.output_components != 3) {
    refusal = "the JPEG's colour layout could not be converted to RGB";
    return;
  }
  const size_t w = st.cinfo.output_width, h = st.cinfo.output_height;
  out.width = static_cast<int32_t>(w);
  out.height = static_cast<int32_t>(h);
  out.rgb.resize(w * h * 3);
  while (st.cinfo.output_scanline < st.cinfo.output_height) {
    JSAMPROW row = out.rgb.data() + static_cast<size_t>(st.cinfo.output_scanline) * w * 3;
    jpeg_read_scanlines(&st.cinfo, &row, 1);
  }
  jpeg_finish_decompress(&st.cinfo);
}

Image decode_jpeg(std::string_view bytes, const ImageLimits& limits) {
  JpegState st;
  st.cinfo.err = jpeg_std_error(&st.err.mgr);
  st.err.mgr.error_exit = jpeg_on_error;
  st.err.mgr.emit_message = jpeg_on_message;
  Image out;
  std::string refusal;
  decode_jpeg_into(st, bytes, limits, out, refusal);
  if (!refusal.empty()) throw ImageError(refusal);
  if (st.err.message[0]) throw ImageError(std::string("bad JPEG: ") + st.err.message);
  if (st.err.truncated) throw ImageError("bad JPEG: the data ends early (truncated file)");
  return out;
}

}  // namespace

Image decode_image(std::string_view bytes, const ImageLimits& limits, const DicomOptions& dicom) {
  if (static_cast<int64_t>(bytes.size()) > limits.max_bytes)
    throw ImageError("the image is " + std::to_string(bytes.size()) + " bytes, more than the " +
                     std::to_string(limits.max_bytes) + " allowed");
  switch (sniff_image_format(bytes)) {
    case ImageFormat::Png: return decode_png(bytes, limits);
    case ImageFormat::Jpeg: return decode_jpeg(bytes, limits);
    case ImageFormat::Dicom: return decode_dicom(bytes, limits, dicom);
    case ImageFormat::Unknown: break;
  }
  throw ImageError("the image is neither PNG, JPEG nor DICOM");
}

}  // namespace citadel
