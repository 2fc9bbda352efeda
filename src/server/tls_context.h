// TLS for the HTTP server: an OpenSSL context built from the configured certificate chain, key,
// optional client CA (mTLS: a client certificate signed by it is required) and minimum version
// (TLS 1.3 unless "1.2" is asked for), and swapped on reload without touching open connections:
// httplib's own context only answers the ClientHello, switching each new connection to the
// context current at that moment; a connection keeps the one it started with (OpenSSL holds a
// reference), so in-flight requests finish on the old certificate.
#pragma once
#include <memory>
#include <mutex>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace httplib {
struct Request;
}

namespace citadel {

struct TlsSettings {
  std::string cert_file;       // PEM: the certificate, then any intermediates
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // PEM CA(s); non-empty: client certificates required (mTLS)
  std::string min_version = "1.3";  // "1.3" or "1.2"
};

class TlsContexts {
 public:
  // Loads the files; throws std::runtime_error naming the file and OpenSSL's reason.
  explicit TlsContexts(TlsSettings settings);
  ~TlsContexts();

  // Prepares httplib's context (httplib::SSLServer's setup callback): from now on each handshake
  // takes the current context. Returns false (no server) when OpenSSL refuses.
  bool install(SSL_CTX& base);
  // Re-reads the files into a new context for new connections. On any error it throws and the
  // current context stays. Returns a line for the log (certificate subject, expiry, fingerprint).
  std::string reload();
  // One line about the certificate in use.
  std::string describe() const;
  const TlsSettings& settings() const { return settings_; }

 private:
  static int on_client_hello(SSL* ssl, int* alert, void* self);
  std::shared_ptr<SSL_CTX> current() const;

  TlsSettings settings_;
  mutable std::mutex mutex_;
  std::shared_ptr<SSL_CTX> current_;
  std::string description_;
};

// The subject (RFC 2253, e.g. "CN=alice,O=Bank") of the verified client certificate on the
// connection that carried `req`; "" on plain HTTP or when no certificate was verified.
std::string tls_client_subject(const httplib::Request& req);

}  // namespace citadel
