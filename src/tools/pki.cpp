// citadel pki: an internal certificate authority for TLS and mTLS (server/pki.h).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "server/pki.h"
#include "tools/tool.h"

namespace citadel {
namespace {

void print(const IssuedCertificate& c) {
  std::printf("certificate %s\n  subject %s\n  sha256  %s\nkey         %s (mode 0600, not shown)\n", c.cert_file.c_str(),
              c.subject.c_str(), c.sha256_fingerprint.c_str(), c.key_file.c_str());
}

int run_pki(int argc, char** argv) {
  CLI::App app{"An internal certificate authority for TLS and mTLS. Files: DIR/ca.crt, DIR/ca.key,\n"
               "DIR/NAME.crt, DIR/NAME.key (keys mode 0600, DIR mode 0700; keys are never printed).\n"
               "  citadel pki init --dir pki\n"
               "  citadel pki issue --dir pki --name server --san llm.bank.internal,10.0.0.5\n"
               "  citadel pki issue --dir pki --name alice --client\n"
               "  citadel serve --tls-cert pki/server.crt --tls-key pki/server.key --tls-client-ca pki/ca.crt",
               "citadel pki"};
  app.require_subcommand(1);
  CaOptions ca;
  std::string ca_type = "ec";
  auto* init = app.add_subcommand("init", "create the CA (DIR/ca.crt, DIR/ca.key); an existing one is never overwritten");
  init->add_option("--dir", ca.dir, "directory of the CA")->required();
  init->add_option("--key-type", ca_type, "ec (P-256) or ed25519")->check(CLI::IsMember({"ec", "ed25519"}))->capture_default_str();
  init->add_option("--cn", ca.common_name, "the CA's common name (default: Citadel internal CA <random id>)");
  init->add_option("--days", ca.days, "validity in days")->capture_default_str();

  IssueOptions is;
  std::string leaf_type = "ec";
  auto* issue = app.add_subcommand("issue", "issue DIR/NAME.crt and DIR/NAME.key signed by the CA");
  issue->add_option("--dir", is.dir, "directory of the CA")->required();
  issue->add_option("--name", is.name, "file name and common name (letters, digits, . _ -)")->required();
  issue->add_option("--san", is.sans, "DNS names or IP addresses, comma-separated (required for servers)")->delimiter(',');
  issue->add_flag("--client", is.client, "a client certificate (mTLS) instead of a server one");
  issue->add_option("--days", is.days, "validity in days")->capture_default_str();
  issue->add_option("--key-type", leaf_type, "ec (P-256) or ed25519")->check(CLI::IsMember({"ec", "ed25519"}))->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (*init) {
    ca.key_type = parse_pki_key_type(ca_type);
    print(pki_init(ca));
  } else {
    is.key_type = parse_pki_key_type(leaf_type);
    print(pki_issue(is));
  }
  return 0;
}

const ToolRegistration reg{"pki", "internal CA: create it, issue server and client certificates", run_pki};

}  // namespace
}  // namespace citadel
