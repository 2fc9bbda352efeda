// DICOM from memory through DCMTK (see dicom_dataset.h). The nesting walk follows the encoding
// PS3.5 chapter 7 describes: tag, VR (explicit syntaxes), length; sequences and items of defined
// or undefined length; undefined-length UN read as an implicit-VR sequence (CP-246, as DCMTK does).
#include "media/dicom_dataset.h"

#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcostrmb.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dctag.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/oflog/oflog.h"

namespace citadel {

void dicom_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    // DCMTK's warnings quote attribute values (a patient's name among them): never print them.
    OFLog::configure(OFLogger::OFF_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

namespace {

constexpr uint32_t kUndefined = 0xFFFFFFFFu;
const char kDeflated[] = "1.2.840.10008.1.2.1.99";

struct Reader {
  std::string_view b;
  bool big = false;
  uint16_t u16(size_t p) const {
    const auto* s = reinterpret_cast<const uint8_t*>(b.data() + p);
    return big ? uint16_t(s[0] << 8 | s[1]) : uint16_t(s[1] << 8 | s[0]);
  }
  uint32_t u32(size_t p) const {
    const auto* s = reinterpret_cast<const uint8_t*>(b.data() + p);
    return big ? uint32_t(s[0]) << 24 | uint32_t(s[1]) << 16 | uint32_t(s[2]) << 8 | s[3]
               : uint32_t(s[3]) << 24 | uint32_t(s[2]) << 16 | uint32_t(s[1]) << 8 | s[0];
  }
};

// The VRs of PS3.5 6.2: anything else and DCMTK might read the length field otherwise than we do.
bool known_vr(const char* vr) {
  static const char* const kVrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO",
                                     "LT", "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ",
                                     "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"};
  for (const char* k : kVrs)
    if (vr[0] == k[0] && vr[1] == k[1]) return true;
  return false;
}

// VRs with a 2-byte reserved field and a 4-byte length in explicit syntaxes (PS3.5 7.1.2).
bool long_vr(const char* vr) {
  static const char* const kLong[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
  for (const char* l : kLong)
    if (vr[0] == l[0] && vr[1] == l[1]) return true;
  return false;
}

}  // namespace

void check_dicom_nesting(std::string_view bytes, int max_depth) {
  Reader r{bytes};
  size_t pos = 0;
  bool implicit = false;
  // Anything this walk cannot follow is refused: DCMTK allocates a value's length before it reads
  // it, so a length it reads that we did not check could ask for 4 GiB from a small file.
  const auto give_up = [](size_t) {
    throw ImageError("DICOM file: malformed element structure (unknown VR, undefined or out-of-file length)");
  };
  const auto check_len = [&](size_t at, uint64_t len) {
    if (len != kUndefined && at + len > bytes.size())
      throw ImageError("DICOM file: an element's length runs past the end of the file");
  };
  if (bytes.size() < 132 || std::memcmp(bytes.data() + 128, "DICM", 4) != 0)
    throw ImageError("DICOM file: no 'DICM' after the 128-byte preamble (PS3.10 file format)");
  {
    pos = 132;
    // The meta group: explicit VR little endian; it names the dataset's transfer syntax.
    std::string ts;
    while (pos + 8 <= bytes.size() && r.u16(pos) == 0x0002) {
      const char* vr = bytes.data() + pos + 4;
      if (!known_vr(vr)) return give_up(pos);
      size_t hdr = 8, len = r.u16(pos + 6);
      if (long_vr(vr)) {
        if (pos + 12 > bytes.size()) break;
        hdr = 12;
        len = r.u32(pos + 8);
      }
      if (len == kUndefined || pos + hdr + len > bytes.size()) return give_up(pos);
      if (r.u16(pos + 2) == 0x0010) {
        ts.assign(bytes.data() + pos + hdr, len);
        while (!ts.empty() && (ts.back() == '\0' || ts.back() == ' ')) ts.pop_back();
      }
      pos += hdr + len;
    }
    if (ts.empty()) throw ImageError("DICOM file: the meta header names no transfer syntax");
    if (ts == kDeflated) throw ImageError("DICOM file: the deflated transfer syntax is not accepted");
    implicit = ts == "1.2.840.10008.1.2";
    r.big = ts == "1.2.840.10008.1.2.2";
  }

  struct Open {
    uint64_t end;   // defined length: where it ends; kUndefined: at its delimiter
    bool sequence;  // else an item
    bool implicit;  // how the elements inside are encoded
  };
  std::vector<Open> open;
  int depth = 0;
  for (;;) {
    while (!open.empty() && open.back().end != kUndefined && pos >= open.back().end) {
      depth -= open.back().sequence;
      open.pop_back();
    }
    if (pos + 8 > bytes.size()) return;
    const uint16_t group = r.u16(pos), element = r.u16(pos + 2);
    if (group == 0xFFFE) {
      const uint32_t len = r.u32(pos + 4);
      pos += 8;
      check_len(pos, len);
      if (element == 0xE000) {
        const bool inner = open.empty() ? implicit : open.back().implicit;
        open.push_back({len == kUndefined ? kUndefined : pos + len, false, inner});
      } else if (element == 0xE00D) {
        if (!open.empty() && !open.back().sequence) open.pop_back();
      } else if (element == 0xE0DD) {
        while (!open.empty()) {
          const bool seq = open.back().sequence;
          depth -= seq;
          open.pop_back();
          if (seq) break;
        }
      }
      continue;
    }
    const bool here_implicit = open.empty() ? implicit : open.back().implicit;
    size_t hdr = 8;
    uint32_t len;
    bool sequence = false, inner_implicit = here_implicit;
    if (here_implicit) {
      len = r.u32(pos + 4);
      DcmTag tag(group, element);
      sequence = tag.getEVR() == EVR_SQ || len == kUndefined;
    } else {
      const char* vr = bytes.data() + pos + 4;
      if (!known_vr(vr)) return give_up(pos);
      if (long_vr(vr)) {
        if (pos + 12 > bytes.size()) return;
        hdr = 12;
        len = r.u32(pos + 8);
      } else {
        len = r.u16(pos + 6);
      }
      sequence = (vr[0] == 'S' && vr[1] == 'Q') || len == kUndefined;
      if (len == kUndefined && vr[0] == 'U' && vr[1] == 'N') inner_implicit = true;
    }
    pos += hdr;
    check_len(pos, len);
    if (group == 0x7FE0 && element == 0x0010 && len == kUndefined) {
      // Encapsulated pixel data: fragments (items of bytes) up to the sequence delimiter.
      while (pos + 8 <= bytes.size()) {
        const uint16_t g = r.u16(pos), e = r.u16(pos + 2);
        const uint32_t l = r.u32(pos + 4);
        pos += 8;
        if (g != 0xFFFE) return give_up(pos);
        if (e == 0xE0DD) break;
        if (l == kUndefined) return give_up(pos);
        check_len(pos, l);
        pos += l;
      }
      continue;
    }
    if (sequence) {
      if (++depth > max_depth)
        throw ImageError("DICOM file: sequences nested deeper than " + std::to_string(max_depth) + " levels");
      open.push_back({len == kUndefined ? kUndefined : pos + len, true, inner_implicit});
      continue;
    }
    if (len == kUndefined) return give_up(pos);
    pos += len;
  }
}

std::unique_ptr<DcmFileFormat> read_dicom(std::string_view bytes, const ImageLimits& limits) {
  dicom_init();
  if (static_cast<int64_t>(bytes.size()) > limits.max_bytes)
    throw ImageError("DICOM file of " + std::to_string(bytes.size()) + " bytes is over the limit of " +
                     std::to_string(limits.max_bytes));
  if (bytes.size() < 8) throw ImageError("DICOM file: too short");
  check_dicom_nesting(bytes);
  DcmInputBufferStream in;
  in.setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
  in.setEos();
  auto file = std::make_unique<DcmFileFormat>();
  file->transferInit();
  // The largest read length: every value is loaded now (a memory stream cannot be read later).
  const OFCondition cond = file->read(in, EXS_Unknown, EGL_noChange, 0xFFFFFFFEu);
  file->transferEnd();
  if (cond.bad()) throw ImageError(std::string("DICOM file cannot be read: ") + cond.text());
  if (file->getDataset() == nullptr) throw ImageError("DICOM file: no dataset");
  const E_TransferSyntax xfer = file->getDataset()->getOriginalXfer();
  if (xfer == EXS_DeflatedLittleEndianExplicit)
    throw ImageError("DICOM file: the deflated transfer syntax is not accepted");
  return file;
}

std::string write_dicom(DcmFileFormat& file) {
  dicom_init();
  E_TransferSyntax xfer = file.getDataset()->getOriginalXfer();
  if (xfer == EXS_Unknown) xfer = EXS_LittleEndianExplicit;
  OFCondition cond = file.validateMetaInfo(xfer);
  if (cond.bad()) throw ImageError(std::string("DICOM file cannot be written: ") + cond.text());
  std::string out;
  std::vector<char> buf(1 << 20);
  DcmOutputBufferStream stream(buf.data(), static_cast<offile_off_t>(buf.size()));
  file.transferInit();
  // The stream hands back a full buffer with EC_StreamNotifyClient; write() then continues.
  do {
    cond = file.write(stream, xfer, EET_ExplicitLength, nullptr);
    if (cond.bad() && cond != EC_StreamNotifyClient) break;
    if (cond.good()) stream.flush();
    void* chunk = nullptr;
    offile_off_t n = 0;
    stream.flushBuffer(chunk, n);
    out.append(static_cast<const char*>(chunk), static_cast<size_t>(n));
  } while (cond == EC_StreamNotifyClient);
  file.transferEnd();
  if (cond.bad()) throw ImageError(std::string("DICOM file cannot be written: ") + cond.text());
  return out;
}

}  // namespace citadel
