// PNG and JPEG decoding: every PNG layout becomes 8-bit RGB, and hostile files (truncated, huge
// or zero declared sizes, CMYK, garbage) are ImageErrors, never crashes or giant allocations.
#include "media/image.h"

#include <gtest/gtest.h>
#include <png.h>

#include <cstdio>
#include <cstring>
#include <jpeglib.h>
#include <string>
#include <vector>

using namespace citadel;

namespace {

// A PNG of the given layout from raw rows (libpng's writer, into memory).
std::string encode_png(int w, int h, int color, int depth, const std::vector<uint8_t>& pixels,
                       const std::vector<png_color>& palette = {}, bool interlace = false) {
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    ADD_FAILURE() << "png encode failed";
    return "";
  }
  png_set_write_fn(
      png, &out, [](png_structp p, png_bytep data, png_size_t n) {
        static_cast<std::string*>(png_get_io_ptr(p))->append(reinterpret_cast<const char*>(data), n);
      },
      nullptr);
  png_set_IHDR(png, info, w, h, depth, color, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!palette.empty()) png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
  png_write_info(png, info);
  const size_t row_bytes = png_get_rowbytes(png, info);
  std::vector<uint8_t> copy = pixels;
  std::vector<png_bytep> rows(h);
  for (int y = 0; y < h; ++y) rows[y] = copy.data() + y * row_bytes;
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

std::string encode_jpeg(int w, int h, J_COLOR_SPACE space, int components, const std::vector<uint8_t>& pixels,
                        int quality = 100) {
  jpeg_compress_struct c{};
  jpeg_error_mgr err{};
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = w;
  c.image_height = h;
  c.input_components = components;
  c.in_color_space = space;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(pixels.data()) + c.next_scanline * w * components;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  std::string out(reinterpret_cast<char*>(buf), size);
  jpeg_destroy_compress(&c);
  std::free(buf);
  return out;
}

std::vector<uint8_t> gradient(int w, int h, int channels) {
  std::vector<uint8_t> v(w * h * channels);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>((i * 37) % 251);
  return v;
}

uint32_t crc32_of(const char* p, size_t n) {  // PNG's chunk CRC (ISO 3309), bit by bit
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= static_cast<uint8_t>(p[i]);
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

// Rewrites a PNG's IHDR width and height (and its CRC) to hostile values.
std::string with_ihdr_size(std::string png, uint32_t w, uint32_t h) {
  auto put = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) png[at + i] = static_cast<char>(v >> (24 - 8 * i));
  };
  put(16, w);
  put(20, h);
  const uint32_t crc = crc32_of(png.data() + 12, 17);
  put(29, crc);
  return png;
}

}  // namespace

TEST(Image, SniffsFormats) {
  EXPECT_EQ(sniff_image_format(encode_png(2, 2, PNG_COLOR_TYPE_RGB, 8, gradient(2, 2, 3))), ImageFormat::Png);
  EXPECT_EQ(sniff_image_format(encode_jpeg(8, 8, JCS_RGB, 3, gradient(8, 8, 3))), ImageFormat::Jpeg);
  std::string dicom(132, '\0');
  dicom.replace(128, 4, "DICM");
  EXPECT_EQ(sniff_image_format(dicom), ImageFormat::Dicom);
  EXPECT_EQ(sniff_image_format("GIF89a......"), ImageFormat::Unknown);
  EXPECT_EQ(sniff_image_format(""), ImageFormat::Unknown);
}

TEST(Image, RgbPngIsExact) {
  const auto px = gradient(5, 3, 3);
  Image img = decode_image(encode_png(5, 3, PNG_COLOR_TYPE_RGB, 8, px));
  EXPECT_EQ(img.width, 5);
  EXPECT_EQ(img.height, 3);
  EXPECT_EQ(img.rgb, px);
  // Interlaced (Adam7) gives the same pixels.
  EXPECT_EQ(decode_image(encode_png(5, 3, PNG_COLOR_TYPE_RGB, 8, px, {}, true)).rgb, px);
}

TEST(Image, PngLayoutsBecome8BitRgb) {
  // Grey: R = G = B.
  const std::vector<uint8_t> grey = {0, 100, 200, 255};
  Image g = decode_image(encode_png(2, 2, PNG_COLOR_TYPE_GRAY, 8, grey));
  ASSERT_EQ(g.rgb.size(), 12u);
  for (int i = 0; i < 4; ++i)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(g.rgb[i * 3 + c], grey[i]);
  // RGBA: alpha dropped.
  const std::vector<uint8_t> rgba = {10, 20, 30, 0, 40, 50, 60, 255};
  Image a = decode_image(encode_png(2, 1, PNG_COLOR_TYPE_RGB_ALPHA, 8, rgba));
  EXPECT_EQ(a.rgb, (std::vector<uint8_t>{10, 20, 30, 40, 50, 60}));
  // 16-bit RGB: the high byte of each sample.
  const std::vector<uint8_t> rgb16 = {0x12, 0x34, 0xAB, 0xCD, 0xFF, 0x00};
  Image s = decode_image(encode_png(1, 1, PNG_COLOR_TYPE_RGB, 16, rgb16));
  EXPECT_EQ(s.rgb, (std::vector<uint8_t>{0x12, 0xAB, 0xFF}));
  // Palette: indices looked up.
  std::vector<png_color> pal = {{1, 2, 3}, {250, 251, 252}};
  Image p = decode_image(encode_png(3, 1, PNG_COLOR_TYPE_PALETTE, 8, {1, 0, 1}, pal));
  EXPECT_EQ(p.rgb, (std::vector<uint8_t>{250, 251, 252, 1, 2, 3, 250, 251, 252}));
  // 1-bit grey: 0 and 255.
  Image b = decode_image(encode_png(8, 1, PNG_COLOR_TYPE_GRAY, 1, {0xA0}));
  ASSERT_EQ(b.rgb.size(), 24u);
  EXPECT_EQ(b.rgb[0], 255);
  EXPECT_EQ(b.rgb[3], 0);
  EXPECT_EQ(b.rgb[6], 255);
}

TEST(Image, JpegRgbAndGrey) {
  // A smooth image (JPEG is lossy on noise): every sample close to the original.
  std::vector<uint8_t> px(16 * 8 * 3);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c) px[(y * 16 + x) * 3 + c] = static_cast<uint8_t>(20 + x * 6 + y * 5 + c * 30);
  Image img = decode_image(encode_jpeg(16, 8, JCS_RGB, 3, px));
  EXPECT_EQ(img.width, 16);
  EXPECT_EQ(img.height, 8);
  ASSERT_EQ(img.rgb.size(), px.size());
  for (size_t i = 0; i < px.size(); ++i) ASSERT_NEAR(img.rgb[i], px[i], 12) << i;
  const std::vector<uint8_t> grey(64, 77);
  Image g = decode_image(encode_jpeg(8, 8, JCS_GRAYSCALE, 1, grey));
  ASSERT_EQ(g.rgb.size(), 64u * 3);
  for (uint8_t v : g.rgb) EXPECT_NEAR(v, 77, 2);
}

TEST(Image, CmykJpegIsRefused) {
  const std::string cmyk = encode_jpeg(8, 8, JCS_CMYK, 4, gradient(8, 8, 4));
  try {
    decode_image(cmyk);
    FAIL() << "CMYK decoded";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("CMYK"), std::string::npos) << e.what();
  }
}

TEST(Image, TruncatedFilesAreErrors) {
  const std::string png = encode_png(32, 32, PNG_COLOR_TYPE_RGB, 8, gradient(32, 32, 3));
  const std::string jpg = encode_jpeg(32, 32, JCS_RGB, 3, gradient(32, 32, 3));
  for (size_t cut : {size_t{8}, size_t{20}, size_t{40}, png.size() / 2, png.size() - 13})
    EXPECT_THROW(decode_image(png.substr(0, cut)), ImageError) << "png cut at " << cut;
  for (size_t cut : {size_t{3}, size_t{30}, jpg.size() / 3, jpg.size() / 2, jpg.size() - 10})
    EXPECT_THROW(decode_image(jpg.substr(0, cut)), ImageError) << "jpeg cut at " << cut;
}

TEST(Image, HugeAndZeroDeclaredSizesAreRefusedBeforeAllocating) {
  const std::string png = encode_png(4, 4, PNG_COLOR_TYPE_RGB, 8, gradient(4, 4, 3));
  // 1,000,000 x 1,000,000 pixels would be 3 TB: refused from the header.
  try {
    decode_image(with_ihdr_size(png, 1000000, 1000000));
    FAIL() << "huge PNG decoded";
  } catch (const ImageError& e) {
    EXPECT_TRUE(std::string(e.what()).find("pixels") != std::string::npos ||
                std::string(e.what()).find("bad PNG") != std::string::npos)
        << e.what();
  }
  EXPECT_THROW(decode_image(with_ihdr_size(png, 0, 4)), ImageError);
  EXPECT_THROW(decode_image(with_ihdr_size(png, 4, 0)), ImageError);
  // Within libpng's limits but beyond ours.
  ImageLimits small;
  small.max_pixels = 10;
  try {
    decode_image(png, small);
    FAIL() << "16 pixels passed a limit of 10";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("more than the 10 pixels"), std::string::npos) << e.what();
  }
  const std::string jpg = encode_jpeg(16, 16, JCS_RGB, 3, gradient(16, 16, 3));
  EXPECT_THROW(decode_image(jpg, small), ImageError);
  ImageLimits few_bytes;
  few_bytes.max_bytes = 10;
  EXPECT_THROW(decode_image(png, few_bytes), ImageError);
}

TEST(Image, GarbageIsAnError) {
  EXPECT_THROW(decode_image(""), ImageError);
  EXPECT_THROW(decode_image("not an image at all"), ImageError);
  std::string fake_png = "\x89PNG\r\n\x1a\n";
  fake_png += std::string(100, '\x7f');
  EXPECT_THROW(decode_image(fake_png), ImageError);
  std::string fake_jpg = "\xFF\xD8\xFF";
  fake_jpg += std::string(100, '\x01');
  EXPECT_THROW(decode_image(fake_jpg), ImageError);
}
