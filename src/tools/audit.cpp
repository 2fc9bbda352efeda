// citadel audit: check an audit trail's hash chain (verify), or compute the HMAC an audit line
// holds for a text (hmac), to see whether a suspect prompt was sent.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "gateway/audit_log.h"
#include "gateway/audit_record.h"
#include "tools/tool.h"
#include "tools/tool_support.h"

namespace citadel {
namespace {

int run_audit(int argc, char** argv) {
  CLI::App app{"Audit trail tools (serve --audit-log FILE writes the trail).", "citadel audit"};
  app.require_subcommand(1);
  std::vector<std::string> files;
  std::string key_file, text;
  CLI::App* verify = app.add_subcommand(
      "verify", "check the hash chain: exit 0 when intact, 1 naming the first broken line. One FILE takes its\n"
                "rotated predecessors (FILE.000001, ...) too; several FILEs are checked in the order given.");
  verify->add_option("files", files, "audit trail file(s)")->required()->check(CLI::ExistingFile);
  CLI::App* hmac = app.add_subcommand("hmac", "the HMAC-SHA256 an audit line holds for a text (audit_content: hmac)");
  hmac->add_option("--key-file", key_file, "the server's audit HMAC key file")->required()->check(CLI::ExistingFile);
  hmac->add_option("--text", text, "the text (default: standard input)");
  CLI11_PARSE(app, argc, argv);

  if (*verify) {
    const std::vector<std::string> chain = files.size() == 1 ? audit_trail_files(files[0]) : files;
    const AuditVerifyResult r = verify_audit_trail(chain);
    if (!r.ok) {
      std::fprintf(stderr, "citadel audit verify: BROKEN at %s line %lld: %s\n", r.file.c_str(),
                   static_cast<long long>(r.line), r.problem.c_str());
      return 1;
    }
    std::printf("intact: %lld lines in %zu file%s\n", static_cast<long long>(r.lines), chain.size(),
                chain.size() == 1 ? "" : "s");
    return 0;
  }
  std::ifstream in(key_file, std::ios::binary);
  const std::string key((std::istreambuf_iterator<char>(in)), {});
  if (key.empty()) {
    std::fprintf(stderr, "citadel audit hmac: the key file is empty\n");
    return 1;
  }
  if (!*hmac->get_option("--text")) text = read_all_stdin();
  std::printf("%s\n", audit_text_hmac(key, text).c_str());
  return 0;
}

const ToolRegistration reg{"audit", "verify an audit trail's hash chain; HMAC of a text for audit lookups", run_audit};

}  // namespace
}  // namespace citadel
