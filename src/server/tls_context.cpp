#include "server/tls_context.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>

#include "server/x509_text.h"

namespace citadel {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& file) {
  throw std::runtime_error(what + " '" + file + "': " + openssl_reasons());
}

// "subject, expires <date>, sha256 AB:CD:..." of a certificate.
std::string describe_certificate(const X509* cert) {
  if (!cert) return "no certificate";
  std::string out = x509_subject(cert) + ", expires " + x509_not_after(cert);
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) out += " (EXPIRED)";
  return out + ", sha256 " + x509_fingerprint(cert);
}

// What every context shares, httplib's included: versions, ciphers, options.
bool configure_common(SSL_CTX* ctx, const TlsSettings& s) {
  const int min = s.min_version == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
  // TLS 1.2 only with forward secrecy and AEAD ciphers (TLS 1.3's suites are all of that kind).
  static const char kTls12Ciphers[] = "ECDHE+AESGCM:ECDHE+CHACHA20";
  static const unsigned char kSessionContext[] = "citadel";
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // An encrypted key file fails with a message instead of asking a terminal for its passphrase.
  SSL_CTX_set_default_passwd_cb(ctx, [](char*, int, int, void*) { return 0; });
  return SSL_CTX_set_min_proto_version(ctx, min) == 1 && SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) == 1 &&
         SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1) == 1;
}

std::shared_ptr<SSL_CTX> build_context(const TlsSettings& s, std::string& description) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx || !configure_common(ctx.get(), s))
    throw std::runtime_error("cannot set up TLS: " + openssl_reasons());
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_use_certificate_chain_file(c, s.cert_file.c_str()) != 1) fail("cannot load the TLS certificate", s.cert_file);
  if (SSL_CTX_use_PrivateKey_file(c, s.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    fail("cannot load the TLS key (a PEM key without passphrase)", s.key_file);
  if (SSL_CTX_check_private_key(c) != 1)
    fail("the TLS key does not belong to the certificate '" + s.cert_file + "', key", s.key_file);
  if (!s.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(c, s.client_ca_file.c_str(), nullptr) != 1)
      fail("cannot load the client CA", s.client_ca_file);
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(s.client_ca_file.c_str());
    if (!names) fail("no CA certificate in", s.client_ca_file);
    SSL_CTX_set_client_CA_list(c, names);  // named to clients in the certificate request
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_verify_depth(c, 4);
  }
  description = describe_certificate(SSL_CTX_get0_certificate(c)) + ", TLS " + s.min_version + "+" +
                (s.client_ca_file.empty() ? "" : ", client certificates from " + s.client_ca_file + " required");
  return ctx;
}

}  // namespace

TlsContexts::TlsContexts(TlsSettings settings) : settings_(std::move(settings)) {
  if (settings_.min_version != "1.2" && settings_.min_version != "1.3")
    throw std::runtime_error("tls_min_version must be 1.2 or 1.3, not '" + settings_.min_version + "'");
  if (settings_.cert_file.empty() || settings_.key_file.empty())
    throw std::runtime_error("TLS needs both a certificate (--tls-cert) and its key (--tls-key)");
  current_ = build_context(settings_, description_);
}

TlsContexts::~TlsContexts() = default;

bool TlsContexts::install(SSL_CTX& base) {
  if (!configure_common(&base, settings_)) return false;
  SSL_CTX_set_client_hello_cb(&base, &TlsContexts::on_client_hello, this);
  return true;
}

std::string TlsContexts::reload() {
  std::string description;
  std::shared_ptr<SSL_CTX> next = build_context(settings_, description);  // throws: the old one stays
  std::lock_guard<std::mutex> lock(mutex_);
  current_ = std::move(next);
  description_ = description;
  return description_;
}

std::string TlsContexts::describe() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return description_;
}

std::shared_ptr<SSL_CTX> TlsContexts::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

// Runs before the protocol version is chosen, so the switched context decides everything: its
// certificate, client CA and verification. SSL_set_SSL_CTX takes a reference of its own.
int TlsContexts::on_client_hello(SSL* ssl, int* alert, void* self) {
  const std::shared_ptr<SSL_CTX> ctx = static_cast<TlsContexts*>(self)->current();
  if (SSL_set_SSL_CTX(ssl, ctx.get()) != ctx.get()) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  // The connection copied these from httplib's context when it was made.
  SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx.get()), nullptr);
  SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx.get()));
  SSL_set_min_proto_version(ssl, SSL_CTX_get_min_proto_version(ctx.get()));
  return SSL_CLIENT_HELLO_SUCCESS;
}

std::string tls_client_subject(const httplib::Request& req) {
  const SSL* ssl = req.ssl;
  if (!ssl) return "";
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) return "";
  return x509_subject(cert);
}

}  // namespace citadel
