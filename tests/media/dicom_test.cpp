// DICOM through DCMTK: pixels against a reference computed plainly here, the windows and presets,
// frames, colour, compressed syntaxes (made with DCMTK's own tools when present), hostile files,
// named attributes and the de-identification profile.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "media/dicom_anonymizer.h"
#include "media/dicom_attributes.h"
#include "media/dicom_dataset.h"
#include "media/dicom_deid_profile.h"
#include "media/dicom_image.h"
#include "media/dicom_window.h"
#include "media/image.h"
#include "test_paths.h"

namespace citadel {
namespace {

// ---- making files ------------------------------------------------------------------------------

struct Ct {
  uint16_t rows = 4, cols = 5;
  int frames = 1;
  std::vector<int32_t> stored;  // rows * cols * frames
  int bits_allocated = 16, bits_stored = 16;
  bool is_signed = true;
  const char* photometric = "MONOCHROME2";
  const char* slope = "1", *intercept = "-1024";
  const char* center = "40", *width = "400";  // nullptr: no window in the file
  const char* voi_function = nullptr;
};

// The patient attributes every made file carries, so that tests can look for them.
void add_patient(DcmDataset& ds, const char* study_uid = "1.2.3.4.5.6.7", const char* series_uid = "1.2.3.4.5.6.8",
                 const char* instance_uid = "1.2.3.4.5.6.9") {
  ds.putAndInsertString(DCM_SOPClassUID, UID_CTImageStorage);
  ds.putAndInsertString(DCM_SOPInstanceUID, instance_uid);
  ds.putAndInsertString(DCM_StudyInstanceUID, study_uid);
  ds.putAndInsertString(DCM_SeriesInstanceUID, series_uid);
  ds.putAndInsertString(DCM_FrameOfReferenceUID, "1.2.3.4.5.6.10");
  ds.putAndInsertString(DCM_Modality, "CT");
  ds.putAndInsertString(DCM_BodyPartExamined, "CHEST");
  ds.putAndInsertString(DCM_PatientName, "Doe^Jane");
  ds.putAndInsertString(DCM_PatientID, "MRN-4471-2209");
  ds.putAndInsertString(DCM_PatientBirthDate, "19610312");
  ds.putAndInsertString(DCM_InstitutionName, "St Example General Hospital");
  ds.putAndInsertString(DCM_ReferringPhysicianName, "House^Gregory");
  ds.putAndInsertString(DCM_AccessionNumber, "ACC-99812");
  ds.putAndInsertString(DCM_StudyDate, "20240117");
  ds.putAndInsertString(DCM_StudyDescription, "CT chest, call Jane at jane.doe@example.com");
}

std::string make_ct(const Ct& ct) {
  DcmFileFormat file;
  DcmDataset& ds = *file.getDataset();
  add_patient(ds);
  ds.putAndInsertUint16(DCM_Rows, ct.rows);
  ds.putAndInsertUint16(DCM_Columns, ct.cols);
  ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds.putAndInsertString(DCM_PhotometricInterpretation, ct.photometric);
  ds.putAndInsertUint16(DCM_BitsAllocated, ct.bits_allocated);
  ds.putAndInsertUint16(DCM_BitsStored, ct.bits_stored);
  ds.putAndInsertUint16(DCM_HighBit, ct.bits_stored - 1);
  ds.putAndInsertUint16(DCM_PixelRepresentation, ct.is_signed ? 1 : 0);
  if (ct.frames > 1) ds.putAndInsertString(DCM_NumberOfFrames, std::to_string(ct.frames).c_str());
  if (ct.slope) ds.putAndInsertString(DCM_RescaleSlope, ct.slope);
  if (ct.intercept) ds.putAndInsertString(DCM_RescaleIntercept, ct.intercept);
  if (ct.center) ds.putAndInsertString(DCM_WindowCenter, ct.center);
  if (ct.width) ds.putAndInsertString(DCM_WindowWidth, ct.width);
  if (ct.voi_function) ds.putAndInsertString(DCM_VOILUTFunction, ct.voi_function);
  if (ct.bits_allocated == 8) {
    std::vector<Uint8> px(ct.stored.begin(), ct.stored.end());
    ds.putAndInsertUint8Array(DCM_PixelData, px.data(), px.size());
  } else {
    std::vector<Uint16> px;
    for (int32_t v : ct.stored) px.push_back(static_cast<Uint16>(v));  // two's complement when signed
    ds.putAndInsertUint16Array(DCM_PixelData, px.data(), px.size());
  }
  return write_dicom(file);
}

std::string make_rgb(uint16_t rows, uint16_t cols, const std::vector<uint8_t>& rgb, bool planar) {
  DcmFileFormat file;
  DcmDataset& ds = *file.getDataset();
  add_patient(ds);
  ds.putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
  ds.putAndInsertUint16(DCM_Rows, rows);
  ds.putAndInsertUint16(DCM_Columns, cols);
  ds.putAndInsertUint16(DCM_SamplesPerPixel, 3);
  ds.putAndInsertString(DCM_PhotometricInterpretation, "RGB");
  ds.putAndInsertUint16(DCM_PlanarConfiguration, planar ? 1 : 0);
  ds.putAndInsertUint16(DCM_BitsAllocated, 8);
  ds.putAndInsertUint16(DCM_BitsStored, 8);
  ds.putAndInsertUint16(DCM_HighBit, 7);
  ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
  std::vector<Uint8> px(rgb.begin(), rgb.end());
  if (planar) {
    const size_t n = size_t(rows) * cols;
    for (size_t i = 0; i < n; ++i)
      for (int c = 0; c < 3; ++c) px[c * n + i] = rgb[3 * i + c];
  }
  ds.putAndInsertUint8Array(DCM_PixelData, px.data(), px.size());
  return write_dicom(file);
}

// The standard's linear window (PS3.3 C.11.2.1.2.1) onto 0..255, written out plainly.
int reference_window(double value, double c, double w) {
  if (value <= c - 0.5 - (w - 1) / 2) return 0;
  if (value > c - 0.5 + (w - 1) / 2) return 255;
  return static_cast<int>(std::lround(((value - (c - 0.5)) / (w - 1) + 0.5) * 255));
}

std::vector<int> grey(const Image& img) {
  std::vector<int> g;
  for (size_t i = 0; i < img.rgb.size(); i += 3) {
    EXPECT_EQ(img.rgb[i], img.rgb[i + 1]);
    EXPECT_EQ(img.rgb[i], img.rgb[i + 2]);
    g.push_back(img.rgb[i]);
  }
  return g;
}

// CT-like stored values: air, fat, water, soft tissue, bone, and the ends of the 12-bit range.
std::vector<int32_t> ct_values(size_t n, int seed = 0) {
  const int32_t base[] = {0, 24, 1024, 1064, 1264, 1500, 2024, 3095, 900, 1000, 1100, 1200, 800, 4095, -2000};
  std::vector<int32_t> v;
  for (size_t i = 0; i < n; ++i) v.push_back(base[(i + seed) % 15] + static_cast<int32_t>(i));
  return v;
}

std::string temp_dir() {
  std::string t = ::testing::TempDir() + "citadel_dicom_XXXXXX";
  if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed");
  return t;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool have_tool(const char* name) {
  int status = 0;
  test::run_command(std::string("command -v ") + name + " >/dev/null 2>&1", &status);
  return status == 0;
}

// ---- pixels ------------------------------------------------------------------------------------

TEST(Dicom, CtWithRescaleAndTheFilesWindowGivesTheReferencePixels) {
  Ct ct;
  ct.stored = ct_values(ct.rows * ct.cols);
  const Image img = decode_dicom(make_ct(ct), {}, {});
  ASSERT_EQ(img.width, 5);
  ASSERT_EQ(img.height, 4);
  const std::vector<int> g = grey(img);
  for (size_t i = 0; i < g.size(); ++i)
    EXPECT_EQ(g[i], reference_window(ct.stored[i] * 1.0 - 1024, 40, 400)) << "pixel " << i << " stored " << ct.stored[i];
  // A few by hand: window 40/400 spans -160 (black) .. 239 (white); water (0 HU) is just under middle grey.
  ct.stored = {1024 - 160, 1024 - 159, 1024, 1024 + 40, 1024 + 239, 1024 + 240, 0, 4095, 1024 - 1000, 1024 + 1000,
               1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024};
  const std::vector<int> h = grey(decode_dicom(make_ct(ct), {}, {}));
  EXPECT_EQ(h[0], 0);
  EXPECT_EQ(h[1], 1);    // ((-159 - 39.5) / 399 + 0.5) * 255 = 0.64
  EXPECT_EQ(h[2], 102);  // ((0 - 39.5) / 399 + 0.5) * 255 = 102.26
  EXPECT_EQ(h[3], 128);  // the centre: 127.82
  EXPECT_EQ(h[4], 255);
  EXPECT_EQ(h[5], 255);
  EXPECT_EQ(h[6], 0);    // -1024 HU, air
  EXPECT_EQ(h[7], 255);
}

TEST(Dicom, PresetsAndExplicitWindowsOverrideTheFile) {
  Ct ct;
  ct.stored = ct_values(ct.rows * ct.cols, 3);
  const std::string bytes = make_ct(ct);
  for (const char* name : {"lung", "bone", "brain", "abdomen", "LUNG"}) {
    const DicomWindowPreset* p = find_dicom_window_preset(name);
    ASSERT_NE(p, nullptr) << name;
    DicomOptions opt;
    opt.window_preset = name;
    const std::vector<int> g = grey(decode_dicom(bytes, {}, opt));
    for (size_t i = 0; i < g.size(); ++i)
      EXPECT_EQ(g[i], reference_window(ct.stored[i] - 1024.0, p->center, p->width)) << name << " pixel " << i;
  }
  EXPECT_EQ(find_dicom_window_preset("lung")->center, -600);
  EXPECT_EQ(find_dicom_window_preset("lung")->width, 1500);
  EXPECT_EQ(find_dicom_window_preset("brain")->width, 80);
  DicomOptions opt;
  opt.window_center = 300;
  opt.window_width = 1000;
  opt.window_preset = "lung";  // explicit values win
  const std::vector<int> g = grey(decode_dicom(bytes, {}, opt));
  for (size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i], reference_window(ct.stored[i] - 1024.0, 300, 1000));
  opt = {};
  opt.window_preset = "liver";
  try {
    decode_dicom(bytes, {}, opt);
    FAIL() << "unknown preset accepted";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("lung, bone, brain, abdomen"), std::string::npos) << e.what();
  }
}

TEST(Dicom, SlopeInterceptSignedPixelsAndMonochrome1) {
  Ct ct;
  ct.stored = {-1000, -500, -1, 0, 1, 2, 100, 250, 499, 500, 501, 700, 900, 1000, 1200, 1500, 2000, -32768, 32767, 7};
  ct.slope = "2.5";
  ct.intercept = "-100";
  ct.center = "300";
  ct.width = "2000";
  const std::vector<int> g = grey(decode_dicom(make_ct(ct), {}, {}));
  for (size_t i = 0; i < g.size(); ++i)
    EXPECT_EQ(g[i], reference_window(ct.stored[i] * 2.5 - 100, 300, 2000)) << "pixel " << i;
  ct.photometric = "MONOCHROME1";  // low values white
  const std::vector<int> inv = grey(decode_dicom(make_ct(ct), {}, {}));
  for (size_t i = 0; i < inv.size(); ++i) EXPECT_EQ(inv[i], 255 - g[i]) << "pixel " << i;
}

TEST(Dicom, NoWindowUsesTheFramesRangeAndEightBitIsExact) {
  Ct ct;
  ct.bits_allocated = ct.bits_stored = 8;
  ct.is_signed = false;
  ct.slope = ct.intercept = ct.center = ct.width = nullptr;
  ct.stored.clear();
  for (int i = 0; i < 20; ++i) ct.stored.push_back(i == 0 ? 0 : i == 19 ? 255 : i * 13);
  const std::vector<int> g = grey(decode_dicom(make_ct(ct), {}, {}));
  for (size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i], ct.stored[i]);  // 0..255 maps onto itself
}

TEST(Dicom, TwelveBitsStoredIgnoresTheBitsAbove) {
  Ct ct;
  ct.bits_stored = 12;
  ct.is_signed = false;
  ct.stored = ct_values(20);
  std::vector<int32_t> dirty = ct.stored;
  for (auto& v : dirty) v = (v & 0x0FFF) | 0xA000;  // garbage above the high bit (overlay bits)
  Ct d = ct;
  d.stored = dirty;
  for (auto& v : ct.stored) v &= 0x0FFF;
  EXPECT_EQ(decode_dicom(make_ct(d), {}, {}).rgb, decode_dicom(make_ct(ct), {}, {}).rgb);
}

TEST(Dicom, FrameOfAMultiFrameFile) {
  Ct ct;
  ct.frames = 3;
  ct.stored = ct_values(ct.rows * ct.cols * 3, 5);
  const std::string bytes = make_ct(ct);
  for (int f = 0; f < 3; ++f) {
    DicomOptions opt;
    opt.frame = f;
    const std::vector<int> g = grey(decode_dicom(bytes, {}, opt));
    for (size_t i = 0; i < g.size(); ++i)
      EXPECT_EQ(g[i], reference_window(ct.stored[f * 20 + i] - 1024.0, 40, 400)) << "frame " << f << " pixel " << i;
  }
  DicomOptions opt;
  opt.frame = 3;
  EXPECT_THROW(decode_dicom(bytes, {}, opt), ImageError);
  opt.frame = -1;
  EXPECT_THROW(decode_dicom(bytes, {}, opt), ImageError);
}

TEST(Dicom, RgbInterleavedAndPlanar) {
  std::vector<uint8_t> rgb;
  for (int i = 0; i < 6 * 7 * 3; ++i) rgb.push_back(static_cast<uint8_t>(i * 37 + 11));
  for (bool planar : {false, true}) {
    const Image img = decode_dicom(make_rgb(6, 7, rgb, planar), {}, {});
    EXPECT_EQ(img.width, 7);
    EXPECT_EQ(img.height, 6);
    EXPECT_EQ(img.rgb, rgb) << "planar " << planar;
  }
}

TEST(Dicom, DecodeImageSniffsDicom) {
  Ct ct;
  ct.stored = ct_values(20);
  const std::string bytes = make_ct(ct);
  EXPECT_EQ(sniff_image_format(bytes), ImageFormat::Dicom);
  EXPECT_EQ(decode_image(bytes).rgb, decode_dicom(bytes, {}, {}).rgb);
}

// Lossless compression by DCMTK's own command-line tools gives the same pixels; baseline JPEG
// (lossy, 8-bit) comes close.
TEST(Dicom, CompressedTransferSyntaxes) {
  if (!have_tool("dcmcrle") || !have_tool("dcmcjpeg")) GTEST_SKIP() << "dcmtk tools absent (Debian package dcmtk)";
  const std::string dir = temp_dir();
  Ct ct;
  ct.rows = 16;
  ct.cols = 16;
  ct.frames = 2;
  ct.is_signed = false;
  ct.bits_stored = 12;
  ct.stored = ct_values(16 * 16 * 2, 1);
  for (auto& v : ct.stored) v &= 0x0FFF;
  const std::string plain = make_ct(ct);
  write_file(dir + "/plain.dcm", plain);
  DicomOptions second;
  second.frame = 1;
  const Image ref0 = decode_dicom(plain, {}, {}), ref1 = decode_dicom(plain, {}, second);
  struct Case {
    const char* tool;
    const char* ts;  // the transfer syntax the result must carry
  } cases[] = {{"dcmcrle", "1.2.840.10008.1.2.5"},
               {"dcmcjpeg +e1", "1.2.840.10008.1.2.4.70"},  // lossless, first-order prediction
               {"dcmcjpls", "1.2.840.10008.1.2.4.80"}};     // JPEG-LS lossless
  for (const Case& c : cases) {
    if (std::string(c.tool) == "dcmcjpls" && !have_tool("dcmcjpls")) continue;
    const std::string out = dir + "/c.dcm";
    int status = 0;
    test::run_command(std::string(c.tool) + " " + dir + "/plain.dcm " + out + " 2>&1", &status);
    ASSERT_EQ(status, 0) << c.tool;
    const std::string bytes = test::read_file(out);
    ASSERT_NE(bytes.find(c.ts), std::string::npos) << c.tool << " did not write " << c.ts;
    EXPECT_EQ(decode_dicom(bytes, {}, {}).rgb, ref0.rgb) << c.tool;
    EXPECT_EQ(decode_dicom(bytes, {}, second).rgb, ref1.rgb) << c.tool;
  }
  // Baseline JPEG takes 8-bit samples.
  std::vector<uint8_t> rgb;
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) rgb.insert(rgb.end(), {uint8_t(x * 16), uint8_t(y * 16), uint8_t(128)});
  write_file(dir + "/rgb.dcm", make_rgb(16, 16, rgb, false));
  int status = 0;
  test::run_command("dcmcjpeg +eb +q 95 " + dir + "/rgb.dcm " + dir + "/rgbj.dcm 2>&1", &status);
  ASSERT_EQ(status, 0);
  const std::string jpeg = test::read_file(dir + "/rgbj.dcm");
  ASSERT_NE(jpeg.find("1.2.840.10008.1.2.4.50"), std::string::npos);
  const Image img = decode_dicom(jpeg, {}, {});
  ASSERT_EQ(img.rgb.size(), rgb.size());
  double err = 0;
  for (size_t i = 0; i < rgb.size(); ++i) err += std::abs(int(img.rgb[i]) - int(rgb[i]));
  EXPECT_LT(err / rgb.size(), 4.0) << "mean absolute error of baseline JPEG at quality 95";
  test::run_command("rm -rf " + dir);
}

// ---- the same pixels as a PNG and as a DICOM (img2dcm) -----------------------------------------

uint32_t crc32(const std::string& s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
  }
  return ~c;
}

std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

// An RGB PNG with stored (uncompressed) deflate blocks: no encoder library needed.
std::string make_png(int w, int h, const std::vector<uint8_t>& rgb) {
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw += '\0';  // filter: none
    raw.append(reinterpret_cast<const char*>(rgb.data()) + size_t(y) * w * 3, size_t(w) * 3);
  }
  std::string z = "\x78\x01";
  for (size_t off = 0; off < raw.size() || off == 0; off += 65535) {
    const size_t n = std::min<size_t>(65535, raw.size() - off);
    z += char(off + n >= raw.size() ? 1 : 0);
    z += {char(n & 0xFF), char(n >> 8), char(~n & 0xFF), char((~n >> 8) & 0xFF)};
    z.append(raw, off, n);
    if (off + n >= raw.size()) break;
  }
  uint32_t a = 1, b = 0;
  for (unsigned char c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  z += be32(b << 16 | a);
  const auto chunk = [](const std::string& type, const std::string& data) {
    return be32(uint32_t(data.size())) + type + data + be32(crc32(type + data));
  };
  std::string ihdr = be32(w) + be32(h) + std::string("\x08\x02\x00\x00\x00", 5);
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", z) + chunk("IEND", "");
}

// A 24-bit BMP (bottom-up rows of BGR, padded to 4 bytes): img2dcm reads BMP and JPEG.
std::string make_bmp(int w, int h, const std::vector<uint8_t>& rgb) {
  const int stride = (w * 3 + 3) & ~3;
  const auto le32 = [](uint32_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; };
  const auto le16 = [](uint16_t v) { return std::string{char(v), char(v >> 8)}; };
  std::string s = "BM" + le32(54 + stride * h) + le32(0) + le32(54);
  s += le32(40) + le32(w) + le32(h) + le16(1) + le16(24) + le32(0) + le32(stride * h) + le32(2835) + le32(2835) +
       le32(0) + le32(0);
  for (int y = h - 1; y >= 0; --y) {
    std::string row;
    for (int x = 0; x < w; ++x) {
      const uint8_t* p = &rgb[(size_t(y) * w + x) * 3];
      row += {char(p[2]), char(p[1]), char(p[0])};
    }
    row.resize(stride, '\0');
    s += row;
  }
  return s;
}

TEST(Dicom, Img2dcmFromTheSamePixelsAsAPngGivesTheSameImage) {
  if (!have_tool("img2dcm")) GTEST_SKIP() << "img2dcm absent (Debian package dcmtk)";
  const int w = 23, h = 17;  // odd sizes: BMP row padding
  std::vector<uint8_t> rgb;
  for (int i = 0; i < w * h; ++i) rgb.insert(rgb.end(), {uint8_t(i * 7), uint8_t(255 - i), uint8_t(i * i)});
  const std::string dir = temp_dir();
  write_file(dir + "/in.bmp", make_bmp(w, h, rgb));
  int status = 0;
  const std::string log = test::run_command("img2dcm -i BMP " + dir + "/in.bmp " + dir + "/out.dcm 2>&1", &status);
  ASSERT_EQ(status, 0) << log;
  const Image from_dicom = decode_image(test::read_file(dir + "/out.dcm"));
  EXPECT_EQ(from_dicom.width, w);
  EXPECT_EQ(from_dicom.height, h);
  EXPECT_EQ(from_dicom.rgb, rgb);  // the pixels written
  const Image from_png = decode_image(make_png(w, h, rgb));
  EXPECT_EQ(from_png.width, from_dicom.width);
  EXPECT_EQ(from_png.height, from_dicom.height);
  EXPECT_EQ(from_png.rgb, from_dicom.rgb);
  test::run_command("rm -rf " + dir);
}

// ---- hostile files -----------------------------------------------------------------------------

long max_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

TEST(DicomHostile, TruncatedAnywhereIsAnErrorNotACrash) {
  Ct ct;
  ct.stored = ct_values(20);
  const std::string bytes = make_ct(ct);
  int errors = 0;
  for (size_t n = 0; n < bytes.size(); n += 3) {
    try {
      decode_dicom(bytes.substr(0, n), {}, {});
    } catch (const ImageError&) {
      ++errors;
    }
  }
  EXPECT_EQ(errors, int((bytes.size() + 2) / 3)) << "every truncation is refused (pixels would be missing)";
}

TEST(DicomHostile, HugeDimensionsAndShortPixelDataAreRefusedBeforeDecoding) {
  Ct ct;
  ct.stored = ct_values(20);
  std::string bytes = make_ct(ct);
  std::unique_ptr<DcmFileFormat> file = read_dicom(bytes, {});
  file->getDataset()->putAndInsertUint16(DCM_Rows, 65535);
  file->getDataset()->putAndInsertUint16(DCM_Columns, 65535);
  const std::string huge = write_dicom(*file);
  const long before = max_rss_kib();
  try {
    decode_dicom(huge, {}, {});
    FAIL();
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("over the limit"), std::string::npos) << e.what();
  }
  ImageLimits big;
  big.max_pixels = int64_t(1) << 40;
  try {
    decode_dicom(huge, big, {});  // within the pixel limit, but the data are 40 bytes
    FAIL();
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("shorter"), std::string::npos) << e.what();
  }
  EXPECT_LT(max_rss_kib() - before, 256 * 1024) << "no 8 GiB frame was allocated";
  ImageLimits small;
  small.max_bytes = 100;
  EXPECT_THROW(decode_dicom(bytes, small, {}), ImageError);
}

// Explicit VR little endian elements by hand.
std::string el(uint16_t g, uint16_t e, const char* vr, const std::string& value) {
  std::string s = {char(g), char(g >> 8), char(e), char(e >> 8), vr[0], vr[1]};
  const bool long_form = std::string("OBOWSQUNUTUC").find(vr) != std::string::npos;
  const uint32_t n = static_cast<uint32_t>(value.size());
  if (long_form)
    s += std::string{0, 0, char(n), char(n >> 8), char(n >> 16), char(n >> 24)};
  else
    s += {char(n), char(n >> 8)};
  return s + value;
}

std::string file_with_dataset(const std::string& dataset, const char* ts = "1.2.840.10008.1.2.1") {
  std::string t = ts;
  if (t.size() % 2) t += '\0';
  std::string meta = el(0x0002, 0x0010, "UI", t);
  std::string group_len = {char(meta.size()), char(meta.size() >> 8), char(meta.size() >> 16), char(meta.size() >> 24)};
  return std::string(128, '\0') + "DICM" + el(0x0002, 0x0000, "UL", group_len) + meta + dataset;
}

TEST(DicomHostile, DeepSequencesAreRefusedBeforeDcmtkRecurses) {
  // 100000 sequences of undefined length, each in an item of undefined length.
  std::string deep;
  for (int i = 0; i < 100000; ++i)
    deep += std::string("\x08\x00\x15\x11SQ\0\0\xff\xff\xff\xff", 12) + std::string("\xfe\xff\x00\xe0\xff\xff\xff\xff", 8);
  try {
    decode_dicom(file_with_dataset(deep), {}, {});
    FAIL();
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("nested deeper"), std::string::npos) << e.what();
  }
  // Defined lengths nested the same way, and implicit VR: also refused.
  std::string inner;
  for (int i = 0; i < 200; ++i) {
    std::string item = std::string("\xfe\xff\x00\xe0", 4) + char(inner.size()) + char(inner.size() >> 8) +
                       char(inner.size() >> 16) + char(inner.size() >> 24) + inner;
    inner = el(0x0008, 0x1115, "SQ", item);
  }
  EXPECT_THROW(check_dicom_nesting(file_with_dataset(inner)), ImageError);
  std::string implicit_deep;
  for (int i = 0; i < 1000; ++i)
    implicit_deep += std::string("\x08\x00\x15\x11\xff\xff\xff\xff\xfe\xff\x00\xe0\xff\xff\xff\xff", 16);
  EXPECT_THROW(check_dicom_nesting(file_with_dataset(implicit_deep, "1.2.840.10008.1.2")), ImageError);
  // Ordinary nesting (5 levels) passes the walk.
  std::string shallow;
  for (int i = 0; i < 5; ++i)
    shallow += std::string("\x08\x00\x15\x11SQ\0\0\xff\xff\xff\xff", 12) + std::string("\xfe\xff\x00\xe0\xff\xff\xff\xff", 8);
  EXPECT_NO_THROW(check_dicom_nesting(file_with_dataset(shallow)));
}

TEST(DicomHostile, WrongLengthsDeflateAndGarbage) {
  // A value length far past the end of the file.
  const std::string liar = file_with_dataset(el(0x0010, 0x0010, "PN", "Doe^Jane") +
                                             std::string("\xe0\x7f\x10\x00OW\0\0\xf0\xff\xff\xff", 12) + "tiny");
  const long before = max_rss_kib();
  EXPECT_THROW(decode_dicom(liar, {}, {}), ImageError);
  // Found by fuzz/dicom_fuzz.cpp: DCMTK allocates an unknown element's 2.4 GB before reading it.
  EXPECT_THROW(decode_dicom(file_with_dataset(std::string("\x8e\x8e\x8e\x8eUN\0\0\x8e\x8e\x8e\x8e", 12) + "x"), {}, {}),
               ImageError);
  EXPECT_THROW(decode_dicom(file_with_dataset(std::string("\x10\x00\x10\x00XY\x02\x00", 8) + "ab"), {}, {}),
               ImageError);  // a VR that is none of PS3.5's
  EXPECT_THROW(decode_dicom(file_with_dataset("").substr(128), {}, {}), ImageError);  // no preamble
  EXPECT_LT(max_rss_kib() - before, 256 * 1024) << "a 4 GiB length claim did not allocate";
  EXPECT_THROW(decode_dicom(file_with_dataset(el(0x0010, 0x0010, "PN", "x"), "1.2.840.10008.1.2.1.99"), {}, {}),
               ImageError);
  EXPECT_THROW(decode_dicom(file_with_dataset(el(0x0008, 0x0060, "CS", "CT")), {}, {}), ImageError);  // no pixels
  std::string noise = std::string(128, '\0') + "DICM";
  uint32_t x = 12345;
  for (int i = 0; i < 4096; ++i) noise += char((x = x * 1103515245 + 12345) >> 16);
  EXPECT_THROW(decode_dicom(noise, {}, {}), ImageError);
  EXPECT_THROW(decode_dicom("", {}, {}), ImageError);
}

TEST(DicomHostile, NothingIsPrintedAboutTheFile) {
  Ct ct;
  ct.stored = ct_values(20);
  const std::string bytes = make_ct(ct);
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  for (size_t n = 200; n < bytes.size(); n += 7) {
    try {
      decode_dicom(bytes.substr(0, n), {}, {});
    } catch (const ImageError&) {
    }
  }
  decode_dicom(bytes, {}, {});
  const std::string out = ::testing::internal::GetCapturedStdout() + ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out.find("Doe"), std::string::npos) << out;
  EXPECT_EQ(out.find("MRN"), std::string::npos) << out;
}

// ---- named attributes ----------------------------------------------------------------------------

TEST(DicomAttributes, OnlyNamedOnesAndIdentifyingOnesRefused) {
  Ct ct;
  ct.stored = ct_values(20);
  const std::string bytes = make_ct(ct);
  auto a = dicom_attributes(bytes, {"Modality", "BodyPartExamined", "Rows", "SliceThickness"});
  EXPECT_EQ(a.size(), 3u);  // SliceThickness is absent from the file
  EXPECT_EQ(a["Modality"], "CT");
  EXPECT_EQ(a["BodyPartExamined"], "CHEST");
  EXPECT_EQ(a["Rows"], "4");
  for (const char* k : {"PatientName", "PatientID", "PatientBirthDate", "InstitutionName", "AccessionNumber",
                        "StudyInstanceUID", "StudyDate", "ReferringPhysicianName"}) {
    try {
      dicom_attributes(bytes, {"Modality", k});
      FAIL() << k << " returned";
    } catch (const ImageError& e) {
      EXPECT_NE(std::string(e.what()).find("identify"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("Doe"), std::string::npos);
    }
  }
  EXPECT_EQ(dicom_attributes(bytes, {"PatientName"}, true)["PatientName"], "Doe^Jane");
  EXPECT_THROW(dicom_attributes(bytes, {"NoSuchKeyword"}), ImageError);
  EXPECT_THROW(dicom_attributes(bytes, {"(0010,0010)"}), ImageError);  // keywords only
  EXPECT_TRUE(dicom_attributes(bytes, {"PixelData"}).empty());          // bulk data is not header text
}

TEST(DicomAttributes, CaptionInTheOrderAskedAndThroughDecodeImage) {
  Ct ct;
  ct.stored = ct_values(20);
  const std::string bytes = make_ct(ct);
  EXPECT_EQ(dicom_caption(bytes, {"BodyPartExamined", "SliceThickness", "Modality"}),
            "[DICOM BodyPartExamined: CHEST; Modality: CT]\n");  // the absent one left out
  EXPECT_EQ(dicom_caption(bytes, {"SliceThickness"}), "");
  EXPECT_EQ(dicom_caption(bytes, {}), "");
  EXPECT_THROW(dicom_caption(bytes, {"Modality", "PatientName"}), ImageError);
  EXPECT_THROW(check_dicom_attribute_names({"PatientID"}), ImageError);
  EXPECT_THROW(check_dicom_attribute_names({"NoSuchKeyword"}), ImageError);
  EXPECT_NO_THROW(check_dicom_attribute_names({"Modality", "BodyPartExamined"}));
  DicomOptions o;
  o.attributes = {"Modality"};
  EXPECT_EQ(decode_image(bytes, {}, o).caption, "[DICOM Modality: CT]\n");
  EXPECT_EQ(decode_image(bytes).caption, "");  // nothing asked, nothing from the header
}

TEST(DicomProfile, TableIsSortedAndCoversTheNamedIdentifiers) {
  const auto& t = dicom_basic_profile();
  for (size_t i = 1; i < t.size(); ++i)
    EXPECT_LT(uint32_t(t[i - 1].group) << 16 | t[i - 1].element, uint32_t(t[i].group) << 16 | t[i].element)
        << t[i].keyword;
  for (const auto& r : t) {
    // DCMTK names retired attributes RETIRED_<keyword> (and a private dictionary reuses some names).
    bool found = false;
    for (const std::string& name : {std::string(r.keyword), "RETIRED_" + std::string(r.keyword)}) {
      DcmTag tag;
      found |= DcmTag::findTagFromName(name.c_str(), tag).good() && tag.getGroup() == r.group &&
               tag.getElement() == r.element;
    }
    EXPECT_TRUE(found) << r.keyword << " is not (" << std::hex << r.group << "," << r.element << ")";
  }
  EXPECT_EQ(find_deid_rule(0x0010, 0x0010)->action, DeidAction::Empty);   // PatientName Z
  EXPECT_EQ(find_deid_rule(0x0008, 0x0080)->action, DeidAction::Remove);  // InstitutionName X
  EXPECT_EQ(find_deid_rule(0x0020, 0x000D)->action, DeidAction::Uid);     // StudyInstanceUID U
  EXPECT_EQ(find_deid_rule(0x0008, 0x0060), nullptr);                     // Modality: kept
  EXPECT_TRUE(dicom_attribute_identifies(0x0009, 0x0010));                // private
}

// ---- de-identification ---------------------------------------------------------------------------

std::string str(DcmItem& ds, const DcmTagKey& tag) {
  OFString s;
  return ds.findAndGetOFStringArray(tag, s).good() ? std::string(s.c_str()) : std::string("<absent>");
}

TEST(DicomAnonymize, BasicProfileOnAFile) {
  Ct ct;
  ct.stored = ct_values(20);
  std::unique_ptr<DcmFileFormat> src = read_dicom(make_ct(ct), {});
  DcmDataset& s = *src->getDataset();
  s.putAndInsertString(DcmTag(0x0009, 0x0010, EVR_LO), "ACME private");  // private creator + element
  s.putAndInsertString(DcmTag(0x0009, 0x1001, EVR_LO), "Doe^Jane again");
  DcmItem* ref = nullptr;
  ASSERT_TRUE(s.findOrCreateSequenceItem(DCM_ReferencedImageSequence, ref, -2).good());
  ref->putAndInsertString(DCM_ReferencedSOPClassUID, UID_CTImageStorage);
  ref->putAndInsertString(DCM_ReferencedSOPInstanceUID, "1.2.3.4.5.6.9");  // the file's own instance UID
  ref->putAndInsertString(DCM_PatientName, "Doe^Jane");                      // nested identifiers too
  const std::string original = write_dicom(*src);

  DicomAnonymizer anon;
  DicomAnonymizeStats stats;
  const std::string out_bytes = anon.anonymize(original, &stats);
  EXPECT_EQ(out_bytes.find("Doe"), std::string::npos);
  EXPECT_EQ(out_bytes.find("MRN-4471"), std::string::npos);
  EXPECT_EQ(out_bytes.find("19610312"), std::string::npos);
  EXPECT_EQ(out_bytes.find("Example General"), std::string::npos);
  EXPECT_EQ(out_bytes.find("ACC-99812"), std::string::npos);
  EXPECT_EQ(out_bytes.find("1.2.3.4.5.6"), std::string::npos) << "every instance UID replaced";
  EXPECT_EQ(out_bytes.find("ACME"), std::string::npos);
  std::unique_ptr<DcmFileFormat> out = read_dicom(out_bytes, {});
  DcmDataset& d = *out->getDataset();
  EXPECT_EQ(str(d, DCM_PatientName), "");  // Z: present, empty
  EXPECT_EQ(str(d, DCM_PatientID), "");
  EXPECT_EQ(str(d, DCM_PatientBirthDate), "");
  EXPECT_EQ(str(d, DCM_InstitutionName), "<absent>");  // X
  EXPECT_EQ(str(d, DCM_StudyDescription), "<absent>");
  EXPECT_EQ(str(d, DCM_Modality), "CT");  // K
  EXPECT_EQ(str(d, DCM_PatientIdentityRemoved), "YES");
  EXPECT_NE(str(d, DCM_DeidentificationMethod).find("PS3.15"), std::string::npos);
  EXPECT_EQ(str(d, DCM_SOPClassUID), UID_CTImageStorage);
  const std::string sop = str(d, DCM_SOPInstanceUID);
  EXPECT_EQ(sop.rfind("2.25.", 0), 0u) << sop;
  DcmItem* ref_out = nullptr;
  ASSERT_TRUE(d.findAndGetSequenceItem(DCM_ReferencedImageSequence, ref_out).good());
  EXPECT_EQ(str(*ref_out, DCM_ReferencedSOPInstanceUID), sop) << "the same UID maps to the same UID";
  EXPECT_EQ(str(*ref_out, DCM_ReferencedSOPClassUID), UID_CTImageStorage);
  EXPECT_EQ(str(*ref_out, DCM_PatientName), "");
  OFString meta_sop;
  out->getMetaInfo()->findAndGetOFString(DCM_MediaStorageSOPInstanceUID, meta_sop);
  EXPECT_EQ(std::string(meta_sop.c_str()), sop);
  EXPECT_EQ(stats.private_removed, 2);
  EXPECT_GT(stats.uids, 4);
  EXPECT_EQ(decode_dicom(out_bytes, {}, {}).rgb, decode_dicom(original, {}, {}).rgb) << "pixels untouched";
}

TEST(DicomAnonymize, UidsMapOneToOneAcrossFilesOfARun) {
  Ct ct;
  ct.stored = ct_values(20);
  std::unique_ptr<DcmFileFormat> a = read_dicom(make_ct(ct), {});
  std::unique_ptr<DcmFileFormat> b = read_dicom(make_ct(ct), {});
  b->getDataset()->putAndInsertString(DCM_SOPInstanceUID, "1.2.3.4.5.6.99");  // same study and series
  DicomAnonymizer anon;
  auto ra = read_dicom(anon.anonymize(write_dicom(*a)), {});
  auto rb = read_dicom(anon.anonymize(write_dicom(*b)), {});
  DcmDataset &da = *ra->getDataset(), &db = *rb->getDataset();
  EXPECT_EQ(str(da, DCM_StudyInstanceUID), str(db, DCM_StudyInstanceUID));
  EXPECT_EQ(str(da, DCM_SeriesInstanceUID), str(db, DCM_SeriesInstanceUID));
  EXPECT_NE(str(da, DCM_SOPInstanceUID), str(db, DCM_SOPInstanceUID));
  EXPECT_NE(str(da, DCM_StudyInstanceUID), "1.2.3.4.5.6.7");
  DicomAnonymizer another;  // another run: other UIDs
  auto rc = read_dicom(another.anonymize(write_dicom(*a)), {});
  EXPECT_NE(str(*rc->getDataset(), DCM_StudyInstanceUID), str(da, DCM_StudyInstanceUID));
}

TEST(DicomAnonymize, CleanDescriptorsGoThroughTheRedactorAndBurnedInIsRefused) {
  Ct ct;
  ct.stored = ct_values(20);
  const std::string bytes = make_ct(ct);
  DicomAnonymizeOptions opt;
  opt.clean_descriptions = true;
  int calls = 0;
  opt.clean_text = [&](std::string_view s) {
    ++calls;
    std::string t(s);
    const size_t at = t.find("jane.doe@example.com");
    if (at != std::string::npos) t.replace(at, 20, "[EMAIL_1]");
    return t;
  };
  DicomAnonymizer anon(opt);
  auto out = read_dicom(anon.anonymize(bytes), {});
  EXPECT_EQ(str(*out->getDataset(), DCM_StudyDescription), "CT chest, call Jane at [EMAIL_1]");
  EXPECT_EQ(calls, 1);
  std::unique_ptr<DcmFileFormat> f = read_dicom(bytes, {});
  f->getDataset()->putAndInsertString(DCM_BurnedInAnnotation, "YES");
  EXPECT_THROW(anon.anonymize(write_dicom(*f)), ImageError);
  DicomAnonymizeOptions accept;
  accept.accept_burned_in = true;
  EXPECT_NO_THROW(DicomAnonymizer(accept).anonymize(write_dicom(*f)));
}

}  // namespace
}  // namespace citadel
