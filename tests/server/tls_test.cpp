// The internal CA (server/pki.h) and TLS contexts (server/tls_context.h) in process: certificates
// with the right extensions, a real HTTPS server that requires client certificates and reports
// the verified subject per request, and reloads that keep the old certificate on a bad file.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <chrono>
#include <optional>
#include <thread>

#include "server/pki.h"
#include "server/tls_context.h"
#include "server/x509_text.h"
#include "test_paths.h"

using namespace citadel;

namespace {

std::string temp_dir() {
  std::string t = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + std::string("/citadel-tls-XXXXXX");
  if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed");
  return t;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 0777 : 0;
}

std::unique_ptr<X509, decltype(&X509_free)> read_cert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  X509* x = f ? PEM_read_X509(f, nullptr, nullptr, nullptr) : nullptr;
  if (f) std::fclose(f);
  return {x, X509_free};
}

// Verifies `leaf` against `ca` for a purpose (X509_PURPOSE_SSL_SERVER / _CLIENT); 0 = valid.
int verify(const std::string& ca, const std::string& leaf, int purpose) {
  auto ca_cert = read_cert(ca), leaf_cert = read_cert(leaf);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca_cert.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf_cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  const int ok = X509_verify_cert(ctx);
  const int err = ok == 1 ? 0 : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return err;
}

struct Pki {
  std::string dir = temp_dir();
  std::string ca, other_ca;
  Pki() {
    ca = dir + "/ca";
    other_ca = dir + "/other";
    pki_init({ca, PkiKeyType::EcP256, "", 30});
    pki_issue({ca, "server", {"localhost", "127.0.0.1"}, false, PkiKeyType::EcP256, 5});
    pki_issue({ca, "server2", {"127.0.0.1"}, false, PkiKeyType::Ed25519, 5});
    pki_issue({ca, "alice", {}, true, PkiKeyType::EcP256, 5});
    pki_init({other_ca, PkiKeyType::Ed25519, "", 30});
    pki_issue({other_ca, "mallory", {}, true, PkiKeyType::EcP256, 5});
  }
  ~Pki() { test::run_command("rm -rf '" + dir + "'"); }
};

TEST(Pki, CertificatesVerifyForTheirPurposeOnly) {
  Pki p;
  EXPECT_EQ(mode_of(p.ca), 0700u);
  for (const char* name : {"ca", "server", "server2", "alice"}) {
    EXPECT_EQ(mode_of(p.ca + "/" + name + ".key"), 0600u) << name;
    EXPECT_EQ(mode_of(p.ca + "/" + name + ".crt"), 0644u) << name;
  }
  EXPECT_EQ(verify(p.ca + "/ca.crt", p.ca + "/server.crt", X509_PURPOSE_SSL_SERVER), 0);
  EXPECT_EQ(verify(p.ca + "/ca.crt", p.ca + "/server2.crt", X509_PURPOSE_SSL_SERVER), 0);
  EXPECT_EQ(verify(p.ca + "/ca.crt", p.ca + "/alice.crt", X509_PURPOSE_SSL_CLIENT), 0);
  EXPECT_EQ(verify(p.ca + "/ca.crt", p.ca + "/alice.crt", X509_PURPOSE_SSL_SERVER), X509_V_ERR_INVALID_PURPOSE);
  EXPECT_EQ(verify(p.ca + "/ca.crt", p.ca + "/server.crt", X509_PURPOSE_SSL_CLIENT), X509_V_ERR_INVALID_PURPOSE);
  EXPECT_NE(verify(p.ca + "/ca.crt", p.other_ca + "/mallory.crt", X509_PURPOSE_SSL_CLIENT), 0);
  EXPECT_EQ(verify(p.other_ca + "/ca.crt", p.other_ca + "/mallory.crt", X509_PURPOSE_SSL_CLIENT), 0);  // Ed25519 CA

  auto ca = read_cert(p.ca + "/ca.crt"), server = read_cert(p.ca + "/server.crt");
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_check_ca(server.get()), 0);
  EXPECT_EQ(X509_check_host(server.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(server.get(), "evil.example", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_issued(ca.get(), server.get()), X509_V_OK);  // AKI matches the CA's SKI
  EXPECT_NE(x509_subject(ca.get()), x509_subject(read_cert(p.other_ca + "/ca.crt").get()));  // CAs named apart
  // No key material outside the key files.
  EXPECT_EQ(test::read_file(p.ca + "/server.crt").find("PRIVATE KEY"), std::string::npos);
}

TEST(Pki, RefusesBadInputAndNeverOverwrites) {
  Pki p;
  const std::string before = test::read_file(p.ca + "/ca.key");
  EXPECT_THROW(pki_init({p.ca, PkiKeyType::EcP256, "", 30}), std::runtime_error);
  EXPECT_EQ(test::read_file(p.ca + "/ca.key"), before);
  EXPECT_THROW(pki_issue({p.ca, "server", {"localhost"}, false, PkiKeyType::EcP256, 5}), std::runtime_error);
  for (const std::string& bad_name : {std::string(""), std::string("ca"), std::string("../x"), std::string("a/b"),
                                    std::string("a b"), std::string(".hidden"), std::string(65, 'a')})
    EXPECT_THROW(pki_issue({p.ca, bad_name, {"localhost"}, false, PkiKeyType::EcP256, 5}), std::invalid_argument) << bad_name;
  for (const std::string& bad_san : {"a,DNS:b", "bad host", "-x.example", "x..y", "email:a@b", ""})
    EXPECT_THROW(pki_issue({p.ca, "s", {bad_san}, false, PkiKeyType::EcP256, 5}), std::invalid_argument) << bad_san;
  EXPECT_THROW(pki_issue({p.ca, "s", {}, false, PkiKeyType::EcP256, 5}), std::invalid_argument);  // server without SAN
  EXPECT_THROW(pki_issue({p.ca, "s", {"localhost"}, false, PkiKeyType::EcP256, 0}), std::invalid_argument);
  EXPECT_THROW(pki_issue({p.dir + "/none", "s", {"localhost"}, false, PkiKeyType::EcP256, 5}), std::runtime_error);
  EXPECT_FALSE(test::file_exists(p.ca + "/s.key"));
  EXPECT_NO_THROW(pki_issue({p.ca, "v6", {"::1", "*.llm.internal"}, false, PkiKeyType::EcP256, 5}));
  EXPECT_THROW(parse_pki_key_type("rsa"), std::invalid_argument);
}

// An HTTPS server on a free port answering GET /who with the client certificate's subject.
struct HttpsServer {
  std::unique_ptr<TlsContexts> tls;
  std::unique_ptr<httplib::SSLServer> server;
  std::thread thread;
  int port = 0;
  explicit HttpsServer(TlsSettings s) : tls(std::make_unique<TlsContexts>(std::move(s))) {
    server = std::make_unique<httplib::SSLServer>([this](SSL_CTX& ctx) { return tls->install(ctx); });
    server->Get("/who", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(tls_client_subject(req), "text/plain");
    });
    port = server->bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server->listen_after_bind(); });
    while (!server->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~HttpsServer() {
    server->stop();
    thread.join();
  }
};

// GET /who over a fresh TLS connection; nullopt when the handshake or request fails.
std::optional<std::string> who(int port, const std::string& ca, const std::string& cert = "", const std::string& key = "") {
  httplib::SSLClient cli("127.0.0.1", port, cert, key);
  cli.set_ca_cert_path(ca.c_str());
  cli.enable_server_certificate_verification(true);
  cli.set_connection_timeout(5);
  auto res = cli.Get("/who");
  if (!res || res->status != 200) return std::nullopt;
  return res->body;
}

TEST(TlsContexts, ClientCertificatesRequiredAndSubjectReported) {
  Pki p;
  HttpsServer s({p.ca + "/server.crt", p.ca + "/server.key", p.ca + "/ca.crt", "1.3"});
  const std::string ca = p.ca + "/ca.crt";
  EXPECT_EQ(who(s.port, ca, p.ca + "/alice.crt", p.ca + "/alice.key"), std::optional<std::string>("CN=alice"));
  EXPECT_EQ(who(s.port, ca), std::nullopt);  // no certificate
  EXPECT_EQ(who(s.port, ca, p.other_ca + "/mallory.crt", p.other_ca + "/mallory.key"), std::nullopt);  // other CA
  EXPECT_EQ(who(s.port, ca, p.ca + "/server.crt", p.ca + "/server.key"), std::nullopt);  // not a client certificate
}

TEST(TlsContexts, WithoutClientCaTheSubjectIsEmpty) {
  Pki p;
  HttpsServer s({p.ca + "/server.crt", p.ca + "/server.key", "", "1.3"});
  EXPECT_EQ(who(s.port, p.ca + "/ca.crt"), std::optional<std::string>(""));
  EXPECT_EQ(who(s.port, p.other_ca + "/ca.crt"), std::nullopt);  // the client does not trust it
}

TEST(TlsContexts, ReloadSwitchesNewConnectionsAndKeepsTheOldOnBadFiles) {
  Pki p;
  const std::string live_crt = p.dir + "/live.crt", live_key = p.dir + "/live.key", live_ca = p.dir + "/live-ca.crt";
  auto copy = [](const std::string& from, const std::string& to) { test::run_command("cp '" + from + "' '" + to + "'"); };
  copy(p.ca + "/server.crt", live_crt);
  copy(p.ca + "/server.key", live_key);
  copy(p.ca + "/ca.crt", live_ca);
  HttpsServer s({live_crt, live_key, live_ca, "1.3"});
  const std::string first = s.tls->describe();
  EXPECT_NE(first.find(x509_fingerprint(read_cert(p.ca + "/server.crt").get())), std::string::npos) << first;

  // A new certificate and another client CA: new connections follow both.
  copy(p.ca + "/server2.crt", live_crt);
  copy(p.ca + "/server2.key", live_key);
  copy(p.other_ca + "/ca.crt", live_ca);
  const std::string second = s.tls->reload();
  EXPECT_NE(second.find(x509_fingerprint(read_cert(p.ca + "/server2.crt").get())), std::string::npos) << second;
  EXPECT_EQ(who(s.port, p.ca + "/ca.crt", p.other_ca + "/mallory.crt", p.other_ca + "/mallory.key"),
            std::optional<std::string>("CN=mallory"));
  EXPECT_EQ(who(s.port, p.ca + "/ca.crt", p.ca + "/alice.crt", p.ca + "/alice.key"), std::nullopt);

  // A broken certificate, then a key of another certificate: refused, the current one stays.
  { std::FILE* f = std::fopen(live_crt.c_str(), "w"); std::fputs("not a certificate\n", f); std::fclose(f); }
  EXPECT_THROW(s.tls->reload(), std::runtime_error);
  copy(p.ca + "/server.crt", live_crt);  // live.key is still server2's
  try {
    s.tls->reload();
    ADD_FAILURE() << "a key of another certificate was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("does not belong"), std::string::npos) << e.what();
  }
  EXPECT_EQ(s.tls->describe(), second);
  EXPECT_EQ(who(s.port, p.ca + "/ca.crt", p.other_ca + "/mallory.crt", p.other_ca + "/mallory.key"),
            std::optional<std::string>("CN=mallory"));
}

TEST(TlsContexts, BadSettingsAreNamed) {
  Pki p;
  EXPECT_THROW(TlsContexts({p.ca + "/server.crt", p.ca + "/server.key", "", "1.1"}), std::runtime_error);
  EXPECT_THROW(TlsContexts({p.ca + "/absent.crt", p.ca + "/server.key", "", "1.3"}), std::runtime_error);
  EXPECT_THROW(TlsContexts({p.ca + "/server.crt", p.ca + "/alice.key", "", "1.3"}), std::runtime_error);
  EXPECT_THROW(TlsContexts({p.ca + "/server.crt", p.ca + "/server.key", p.dir + "/absent-ca.crt", "1.3"}), std::runtime_error);
}

}  // namespace
