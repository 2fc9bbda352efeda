// citadel dicom-anonymize IN OUT: de-identifies DICOM files after PS3.15's basic profile
// (media/dicom_anonymizer.h; the attribute table in docs/multimodal.md) for preparing training
// data. IN and OUT are files, or folders: every file under IN is written under OUT at the same
// relative path, with UIDs mapped consistently across the whole run. Nothing printed names a
// header value; a file that cannot be read is reported by path and left out (exit status 1).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/json_file.h"
#include "gateway/pii.h"
#include "media/dicom_anonymizer.h"
#include "tools/tool.h"

namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p, int64_t max_bytes) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  if (ec) throw std::runtime_error("cannot read: " + ec.message());
  if (static_cast<int64_t>(size) > max_bytes)
    throw std::runtime_error("larger than --max-bytes (" + std::to_string(max_bytes) + ")");
  std::ifstream in(p, std::ios::binary);
  std::string s(size, '\0');
  if (!in.read(s.data(), static_cast<std::streamsize>(size))) throw std::runtime_error("cannot read");
  return s;
}

void write_all(const fs::path& p, const std::string& bytes) {
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  const fs::path partial = p.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())) || !out.flush())
      throw std::runtime_error("cannot write " + partial.string());
  }
  fs::rename(partial, p);
}

int run_dicom_anonymize(int argc, char** argv) {
  CLI::App app{"De-identify DICOM files after DICOM PS3.15 Annex E's Basic Application Level Confidentiality "
               "Profile: patient names, IDs, birth date, accession number, institution, physicians and dates "
               "emptied or removed, UIDs replaced (one to one within the run), private attributes and "
               "overlays removed, PatientIdentityRemoved = YES. Pixel data is left as it is.",
               "citadel dicom-anonymize"};
  std::string in_path, out_path, pii_config;
  bool clean = false, accept_burned_in = false;
  int64_t max_bytes = int64_t(2) << 30;
  app.add_option("IN", in_path, "a DICOM file, or a folder of them (read recursively)")->required();
  app.add_option("OUT", out_path, "the file to write, or the folder to write the same relative paths under")->required();
  app.add_flag("--clean-descriptions", clean,
               "the Clean Descriptors Option: keep StudyDescription, SeriesDescription, ImageComments, ProtocolName "
               "and the other descriptions with personal data replaced by the PII redactor (default: remove them)");
  app.add_option("--pii-config", pii_config,
                 "JSON file {detectors, dictionaries, regexes} for --clean-descriptions (docs/privacy.md; default: "
                 "every built-in detector)");
  app.add_flag("--accept-burned-in", accept_burned_in,
               "also write files whose BurnedInAnnotation is YES (their pixels may show the patient's name: the "
               "profile does not remove it; default: refused)");
  app.add_option("--max-bytes", max_bytes, "larger files are refused")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  std::optional<citadel::PiiDetector> detector;
  citadel::DicomAnonymizeOptions options;
  options.clean_descriptions = clean;
  options.accept_burned_in = accept_burned_in;
  options.limits.max_bytes = max_bytes;
  try {
    if (clean) {
      citadel::PiiConfig config;
      if (!pii_config.empty())
        config = citadel::pii_config_from_json(citadel::read_json_file(pii_config),
                                               fs::path(pii_config).parent_path().string());
      detector.emplace(config);
      options.clean_text = [&detector](std::string_view text) {
        citadel::PiiRedactor redactor(*detector);  // placeholders numbered per attribute
        return redactor.redact(text);
      };
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "citadel dicom-anonymize: %s\n", e.what());
    return 2;
  }

  std::error_code ec;
  const bool folder = fs::is_directory(in_path, ec);
  if (!folder && !fs::is_regular_file(in_path, ec)) {
    std::fprintf(stderr, "citadel dicom-anonymize: %s: no such file or folder\n", in_path.c_str());
    return 2;
  }
  if (fs::exists(out_path) && fs::equivalent(in_path, out_path, ec)) {
    std::fprintf(stderr, "citadel dicom-anonymize: IN and OUT are the same\n");
    return 2;
  }
  std::vector<std::pair<fs::path, fs::path>> jobs;
  if (folder) {
    if (fs::exists(out_path) && !fs::is_directory(out_path)) {
      std::fprintf(stderr, "citadel dicom-anonymize: IN is a folder, OUT is not\n");
      return 2;
    }
    const fs::path out_abs = fs::weakly_canonical(out_path);
    for (auto it = fs::recursive_directory_iterator(in_path, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      const std::string name = it->path().filename().string();
      if (name.size() > 8 && name.compare(name.size() - 8, 8, ".partial") == 0) continue;
      // OUT inside IN: what this run writes is not read again.
      const fs::path abs = fs::weakly_canonical(it->path());
      if (std::mismatch(out_abs.begin(), out_abs.end(), abs.begin(), abs.end()).first == out_abs.end()) continue;
      jobs.emplace_back(it->path(), fs::path(out_path) / fs::relative(it->path(), in_path));
    }
    if (ec) {
      std::fprintf(stderr, "citadel dicom-anonymize: %s: %s\n", in_path.c_str(), ec.message().c_str());
      return 1;
    }
    std::sort(jobs.begin(), jobs.end());
  } else {
    jobs.emplace_back(in_path, fs::is_directory(out_path) ? fs::path(out_path) / fs::path(in_path).filename()
                                                          : fs::path(out_path));
  }

  citadel::DicomAnonymizer anonymizer(options);
  citadel::DicomAnonymizeStats total;
  int written = 0, failed = 0;
  for (const auto& [in, out] : jobs) {
    try {
      citadel::DicomAnonymizeStats s;
      write_all(out, anonymizer.anonymize(read_all(in, max_bytes), &s));
      ++written;
      total.removed += s.removed;
      total.emptied += s.emptied;
      total.dummies += s.dummies;
      total.cleaned += s.cleaned;
      total.uids += s.uids;
      total.private_removed += s.private_removed;
    } catch (const std::exception& e) {
      ++failed;
      std::fprintf(stderr, "citadel dicom-anonymize: %s: %s\n", in.string().c_str(), e.what());
    }
  }
  std::fprintf(stderr,
               "dicom-anonymize: %d file(s) written, %d refused; attributes removed %lld, emptied %lld, dummy %lld, "
               "cleaned %lld, private removed %lld; UID values replaced %lld (%zu distinct)\n",
               written, failed, (long long)total.removed, (long long)total.emptied, (long long)total.dummies,
               (long long)total.cleaned, (long long)total.private_removed, (long long)total.uids,
               anonymizer.uids_mapped());
  return failed == 0 ? 0 : 1;
}

const citadel::ToolRegistration reg{"dicom-anonymize",
                                    "de-identify DICOM files (PS3.15 basic profile) for training data",
                                    run_dicom_anonymize};

}  // namespace
