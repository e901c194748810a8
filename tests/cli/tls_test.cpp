// The seller's `libreta` against a wss:// server (in this process, with a certificate made by
// the test): the office's CA given with --ca, once for a sync or saved by init; a server the
// device cannot verify is refused with the network exit code and a hint in the seller's
// language.
#include <catch2/catch.hpp>

#include "cli/cli_fixture.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_certificates.hpp"

using libreta::test::CertificateFiles;
using libreta::test::CliFixture;
using libreta::test::ServerFixture;
using libreta::test::TempDir;
using libreta::test::TestCertificateAuthority;
using nlohmann::json;

namespace {

// The office's CA (its certificate in ca.pem) and a server certificate for localhost.
struct OfficeCertificates {
  OfficeCertificates() : ca("office CA"), ca_file(dir.file("ca.pem")) {
    ca.write_certificate(ca_file);
    server = ca.issue_server_certificate(dir.path(), "server", {"localhost"}, {"127.0.0.1"});
  }

  libreta::server::ServerOptions server_options() const {
    auto options = ServerFixture::quiet_options();
    options.tls_cert_file = server.cert.string();
    options.tls_key_file = server.key.string();
    return options;
  }

  TempDir dir;
  TestCertificateAuthority ca;
  std::filesystem::path ca_file;
  CertificateFiles server;
};

}  // namespace

TEST_CASE("cli tls: sync over wss:// with --ca, once or saved by init", "[cli][sync][tls]") {
  OfficeCertificates office;
  ServerFixture server(office.server_options());
  const std::string url = "wss://localhost:" + std::to_string(server.port()) + "/sync";
  CliFixture seller;
  REQUIRE(seller
              .run({"init", "--server", url, "--token",
                    server.create_token("office", libreta::server::Role::manager)})
              .status == 0);
  REQUIRE(seller.run({"customer", "add", "--name", "Ferretería López"}).status == 0);

  // The system's store does not know the office's CA: refused, nothing sent.
  const auto refused = seller.run({"sync", "--timeout", "20"});
  CHECK(refused.status == 4);
  CHECK(refused.err.find("not trusted") != std::string::npos);
  CHECK(refused.err.find("libreta init --ca FILE") != std::string::npos);
  CHECK(server.store().last_seq() == 0);
  CHECK(seller.json({"status"})["pending_changes"].get<int>() > 0);

  // The CA for this sync only.
  const json once = seller.json({"sync", "--timeout", "30", "--ca", office.ca_file.string()});
  CHECK(once["synced"] == true);
  CHECK(once["pending_changes"] == 0);
  CHECK(server.store().last_seq() > 0);

  // Saved by init, it serves every later sync.
  const json saved = seller.json({"init", "--ca", office.ca_file.string()});
  CHECK(saved["ca_file"] == std::filesystem::absolute(office.ca_file).string());
  REQUIRE(seller.run({"customer", "add", "--name", "Bar El Rincón"}).status == 0);
  const json later = seller.json({"sync", "--timeout", "30"});
  CHECK(later["synced"] == true);
  CHECK(later["pending_changes"] == 0);
}

TEST_CASE("cli tls: a missing CA file and a refused server are told in the seller's language",
          "[cli][sync][tls]") {
  OfficeCertificates office;
  ServerFixture server(office.server_options());
  CliFixture seller;
  seller.lang = "es_ES.UTF-8";

  const auto missing = seller.run({"init", "--ca", seller.file("no-existe.pem").string()});
  CHECK(missing.status == 3);
  CHECK(missing.err.find("no existe el archivo de certificados de confianza") != std::string::npos);

  REQUIRE(seller
              .run({"init", "--server",
                    "wss://127.0.0.1:" + std::to_string(server.port()) + "/sync", "--token", "x"})
              .status == 0);
  const auto refused = seller.run({"sync", "--timeout", "20"});
  CHECK(refused.status == 4);
  CHECK(refused.err.find("No hay conexión segura con el servidor") != std::string::npos);
}

TEST_CASE("cli tls: plain ws:// to another machine needs --allow-plain", "[cli][sync][tls]") {
  CliFixture seller;
  // 192.0.2.1 is TEST-NET-1 (RFC 5737): never a real host, and never contacted here.
  REQUIRE(seller.run({"init", "--server", "ws://192.0.2.1:9/sync", "--token", "x"}).status == 0);
  const auto refused = seller.run({"sync", "--timeout", "20"});
  CHECK(refused.status == 4);
  CHECK(refused.err.find("only allowed to this machine") != std::string::npos);
  CHECK(refused.err.find("libreta init --allow-plain") != std::string::npos);

  const json allowed = seller.json({"init", "--allow-plain"});
  CHECK(allowed["allow_plain"] == true);
}
