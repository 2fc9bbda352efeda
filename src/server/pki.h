// A small internal certificate authority for TLS and mTLS (citadel pki): a CA key and
// self-signed certificate, and server or client certificates it signs. Files in one directory:
// ca.crt, ca.key, NAME.crt, NAME.key (keys PEM/PKCS#8, mode 0600; the directory mode 0700).
// Keys are written only to their files, never returned or printed.
#pragma once
#include <string>
#include <vector>

namespace citadel {

enum class PkiKeyType { EcP256, Ed25519 };
// "ec" (or "p256") / "ed25519"; throws std::invalid_argument otherwise.
PkiKeyType parse_pki_key_type(const std::string& name);

struct CaOptions {
  std::string dir;
  PkiKeyType key_type = PkiKeyType::EcP256;
  std::string common_name;  // empty: "Citadel internal CA <8 random hex>", unlike any other CA
  int days = 3650;
};

struct IssueOptions {
  std::string dir;
  std::string name;               // file stem and common name: letters, digits, . _ -
  std::vector<std::string> sans;  // DNS names or IP addresses (a server certificate needs one)
  bool client = false;            // clientAuth (mTLS) instead of serverAuth
  PkiKeyType key_type = PkiKeyType::EcP256;
  int days = 365;
};

struct IssuedCertificate {
  std::string cert_file, key_file;
  std::string subject;             // RFC 2253
  std::string sha256_fingerprint;  // AB:CD:...
};

// Creates the directory if needed and the CA in it; throws if a CA is already there (never
// overwritten) or anything fails (then nothing half-made is left).
IssuedCertificate pki_init(const CaOptions& options);
// Issues NAME.crt / NAME.key signed by the directory's CA; throws std::invalid_argument for a
// bad name, SAN or day count, std::runtime_error when the CA is missing or NAME exists.
IssuedCertificate pki_issue(const IssueOptions& options);

}  // namespace citadel
