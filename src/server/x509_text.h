// Certificates and OpenSSL errors as text, for logs and messages (TLS and the internal CA).
#pragma once
#include <string>

typedef struct x509_st X509;

namespace citadel {

std::string x509_subject(const X509* cert);      // RFC 2253, e.g. "CN=alice"
std::string x509_fingerprint(const X509* cert);  // SHA-256 as AB:CD:...
std::string x509_not_after(const X509* cert);    // e.g. "Jan  2 03:04:05 2027 GMT"
// OpenSSL's queued error reasons, oldest first, in one line; empties the queue.
std::string openssl_reasons();

}  // namespace citadel
