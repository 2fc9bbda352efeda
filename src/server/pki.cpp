#include "server/pki.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "server/x509_text.h"

namespace citadel {
namespace {

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

[[noreturn]] void openssl_fail(const std::string& what) { throw std::runtime_error(what + ": " + openssl_reasons()); }

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

PKey new_key(PkiKeyType type) {
  EVP_PKEY* k = type == PkiKeyType::Ed25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                            : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (!k) openssl_fail("cannot generate a key");
  return PKey(k, EVP_PKEY_free);
}

// Writes `pem` to a new file (never over an existing one) with `mode`, synced.
void write_new_file(const std::string& path, const std::string& pem, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    throw std::runtime_error("cannot create '" + path + "': " + std::strerror(errno) +
                             (errno == EEXIST ? " (never overwritten: remove it or choose another name)" : ""));
  size_t done = 0;
  while (done < pem.size()) {
    const ssize_t n = ::write(fd, pem.data() + done, pem.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = done == pem.size() && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    throw std::runtime_error("cannot write '" + path + "': " + std::strerror(err));
  }
}

std::string pem_of_key(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(bio);
    openssl_fail("cannot encode the key");
  }
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio, &p);
  std::string pem(p, static_cast<size_t>(n));
  OPENSSL_cleanse(p, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

std::string pem_of_cert(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_X509(bio, cert) != 1) {
    BIO_free(bio);
    openssl_fail("cannot encode the certificate");
  }
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio, &p);
  std::string pem(p, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

void add_extension(X509* cert, X509V3_CTX& ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) openssl_fail(std::string("cannot make the extension ") + OBJ_nid2sn(nid) + " = " + value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) openssl_fail("cannot add an extension");
}

// A v3 certificate for `key`, named CN=`common_name`, valid from 5 minutes ago (clock skew)
// for `days`, with a random positive 127-bit serial; extensions and signature come after.
Cert new_certificate(EVP_PKEY* key, const std::string& common_name, int days) {
  Cert cert(X509_new(), X509_free);
  unsigned char serial[16];
  if (!cert || RAND_bytes(serial, sizeof serial) != 1) openssl_fail("cannot start a certificate");
  serial[0] &= 0x7f;
  serial[0] |= 0x40;  // positive and full length
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool ok = bn && X509_set_version(cert.get(), 2) == 1 &&
                  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) != nullptr &&
                  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300) != nullptr &&
                  X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr) != nullptr &&
                  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) == 1 &&
                  X509_set_pubkey(cert.get(), key) == 1;
  BN_free(bn);
  if (!ok) openssl_fail("cannot fill the certificate");
  return cert;
}

void sign(X509* cert, EVP_PKEY* issuer_key) {
  // Ed25519 signs the message itself (no separate digest); ECDSA over SHA-256.
  const EVP_MD* md = EVP_PKEY_get_id(issuer_key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  if (X509_sign(cert, issuer_key, md) <= 0) openssl_fail("cannot sign the certificate");
}

IssuedCertificate write_pair(X509* cert, EVP_PKEY* key, const std::string& cert_file, const std::string& key_file) {
  const std::string cert_pem = pem_of_cert(cert);
  std::string key_pem = pem_of_key(key);
  if (exists(cert_file)) throw std::runtime_error("'" + cert_file + "' exists (never overwritten: remove it or choose another name)");
  try {
    write_new_file(key_file, key_pem, 0600);
  } catch (...) {
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    throw;
  }
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  try {
    write_new_file(cert_file, cert_pem, 0644);
  } catch (...) {
    ::unlink(key_file.c_str());
    throw;
  }
  return {cert_file, key_file, x509_subject(cert), x509_fingerprint(cert)};
}

void check_days(int days, int max) {
  if (days < 1 || days > max)
    throw std::invalid_argument("days must be 1.." + std::to_string(max) + ", not " + std::to_string(days));
}

bool valid_dns_name(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = s.rfind("*.", 0) == 0 ? 2 : 0;  // one leading wildcard label
  if (start == s.size()) return false;
  size_t label = 0;
  for (size_t i = start; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-') return false;
      label = 0;
      continue;
    }
    const char c = s[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
    ++label;
  }
  return true;
}

// "DNS:a,IP:1.2.3.4": every entry checked first, so nothing but names and addresses reaches
// OpenSSL's extension syntax.
std::string san_value(const std::vector<std::string>& sans) {
  std::string out;
  for (const std::string& san : sans) {
    unsigned char addr[16];
    std::string entry;
    if (::inet_pton(AF_INET, san.c_str(), addr) == 1 || ::inet_pton(AF_INET6, san.c_str(), addr) == 1)
      entry = "IP:" + san;
    else if (valid_dns_name(san))
      entry = "DNS:" + san;
    else
      throw std::invalid_argument("'" + san + "' is neither a DNS name nor an IP address");
    out += (out.empty() ? "" : ",") + entry;
  }
  return out;
}

}  // namespace

PkiKeyType parse_pki_key_type(const std::string& name) {
  if (name == "ec" || name == "p256" || name == "ec-p256") return PkiKeyType::EcP256;
  if (name == "ed25519") return PkiKeyType::Ed25519;
  throw std::invalid_argument("key type '" + name + "' is not ec (P-256) or ed25519");
}

IssuedCertificate pki_init(const CaOptions& o) {
  check_days(o.days, 36500);
  std::string common_name = o.common_name;
  if (common_name.empty()) {
    unsigned char id[4];
    if (RAND_bytes(id, sizeof id) != 1) openssl_fail("no randomness");
    static const char hex[] = "0123456789abcdef";
    common_name = "Citadel internal CA ";
    for (unsigned char b : id) common_name += {hex[b >> 4], hex[b & 15]};
  }
  if (common_name.size() > 64) throw std::invalid_argument("the CA name must be at most 64 characters");
  std::error_code ec;
  std::filesystem::create_directories(o.dir, ec);  // parents as the umask says; the CA's own: 0700
  if (ec) throw std::runtime_error("cannot create '" + o.dir + "': " + ec.message());
  if (::chmod(o.dir.c_str(), 0700) != 0)  // keys live here: owner only, also when it existed
    throw std::runtime_error("cannot restrict '" + o.dir + "' to its owner: " + std::strerror(errno));
  const std::string crt = o.dir + "/ca.crt", key_file = o.dir + "/ca.key";
  if (exists(crt) || exists(key_file)) throw std::runtime_error("'" + o.dir + "' already holds a CA (never overwritten)");
  PKey key = new_key(o.key_type);
  Cert cert = new_certificate(key.get(), common_name, o.days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  add_extension(cert.get(), ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(cert.get(), ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert.get(), ctx, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), ctx, NID_authority_key_identifier, "keyid:always");
  sign(cert.get(), key.get());
  return write_pair(cert.get(), key.get(), crt, key_file);
}

IssuedCertificate pki_issue(const IssueOptions& o) {
  check_days(o.days, 3650);
  const std::string& n = o.name;
  bool name_ok = !n.empty() && n.size() <= 64 && n != "ca" && n[0] != '.' && n[0] != '-';
  for (char c : n) name_ok = name_ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  if (!name_ok) throw std::invalid_argument("name '" + n + "' must be 1..64 letters, digits, '.', '_' or '-' (not 'ca')");
  if (!o.client && o.sans.empty())
    throw std::invalid_argument("a server certificate needs --san: the DNS names or IP addresses clients connect to");
  const std::string sans = san_value(o.sans);

  const std::string ca_crt = o.dir + "/ca.crt", ca_key_file = o.dir + "/ca.key";
  FILE* f = std::fopen(ca_crt.c_str(), "r");
  if (!f) throw std::runtime_error("no CA in '" + o.dir + "' (run citadel pki init --dir " + o.dir + " first)");
  Cert ca(PEM_read_X509(f, nullptr, nullptr, nullptr), X509_free);
  std::fclose(f);
  f = std::fopen(ca_key_file.c_str(), "r");
  if (!f) throw std::runtime_error("cannot read '" + ca_key_file + "': " + std::strerror(errno));
  PKey ca_key(PEM_read_PrivateKey(f, nullptr, [](char*, int, int, void*) { return 0; }, nullptr), EVP_PKEY_free);
  std::fclose(f);
  if (!ca) openssl_fail("'" + ca_crt + "' is not a PEM certificate");
  if (!ca_key) openssl_fail("'" + ca_key_file + "' is not a PEM key without passphrase");
  if (X509_check_private_key(ca.get(), ca_key.get()) != 1) openssl_fail("'" + ca_key_file + "' does not belong to '" + ca_crt + "'");

  PKey key = new_key(o.key_type);
  Cert cert = new_certificate(key.get(), n, o.days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.get(), cert.get(), nullptr, nullptr, 0);
  add_extension(cert.get(), ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ctx, NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), ctx, NID_ext_key_usage, o.client ? "clientAuth" : "serverAuth");
  if (!sans.empty()) add_extension(cert.get(), ctx, NID_subject_alt_name, sans);
  add_extension(cert.get(), ctx, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), ctx, NID_authority_key_identifier, "keyid:always");
  sign(cert.get(), ca_key.get());
  return write_pair(cert.get(), key.get(), o.dir + "/" + n + ".crt", o.dir + "/" + n + ".key");
}

}  // namespace citadel
