// Transport security end to end: a real server with a certificate made by the test, real
// replicas syncing over wss://, clients that must refuse a server they cannot trust, and the
// rules that keep plain ws:// on loopback. Every wait is on a condition with a deadline.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <catch2/catch.hpp>

#include "libreta/client/replica.hpp"
#include "libreta/client/sync_session.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/server/server.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "libreta/server/store.hpp"
#include "libreta/server/sync_service.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_certificates.hpp"
#include "support/tls_probe.hpp"

using namespace std::chrono_literals;
using namespace libreta;
using namespace libreta::client;
using libreta::test::CertificateFiles;
using libreta::test::ProbeResult;
using libreta::test::ServerFixture;
using libreta::test::ssl_reason;
using libreta::test::TempDir;
using libreta::test::TestCertificateAuthority;
using libreta::test::tls_probe;

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// Long enough for a loaded 2-core CI machine or a sanitizer build; a passing test never
// waits for them.
constexpr auto kDeadline = std::chrono::milliseconds(15s);

// A certificate authority and a server certificate it issued, as files, and server options
// that use them.
class TlsFiles {
 public:
  explicit TlsFiles(const std::vector<std::string>& dns_names = {"localhost"},
                    const std::vector<std::string>& ip_addresses = {"127.0.0.1"})
      : ca_("libreta test CA"), ca_file_(dir_.file("ca.pem")) {
    ca_.write_certificate(ca_file_);
    server_ = ca_.issue_server_certificate(dir_.path(), "server", dns_names, ip_addresses);
  }

  const std::filesystem::path& ca_file() const { return ca_file_; }
  const CertificateFiles& server() const { return server_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

  server::ServerOptions server_options() const {
    server::ServerOptions options = ServerFixture::quiet_options();
    options.tls_cert_file = server_.cert.string();
    options.tls_key_file = server_.key.string();
    return options;
  }

 private:
  TempDir dir_;
  TestCertificateAuthority ca_;
  std::filesystem::path ca_file_;
  CertificateFiles server_;
};

std::string wss_url(const std::string& host, std::uint16_t port) {
  return "wss://" + host + ":" + std::to_string(port) + "/sync";
}

// A device's replica file with one customer waiting in its change log.
class Device {
 public:
  Device() : replica_(Replica::open(dir_.file("book.db"))) {}

  std::string add_customer(const std::string& name) {
    Customer customer;
    customer.name = name;
    customer.status = "active";
    return replica_->create(customer);
  }
  Replica& replica() { return *replica_; }
  const std::filesystem::path& file() const { return replica_->path(); }

  SyncOptions options(const std::string& url, const std::string& token) const {
    SyncOptions options;
    options.server_url = url;
    options.token = token;
    options.initial_backoff = 50ms;
    options.max_backoff = 500ms;
    options.connect_timeout = 5s;
    return options;
  }

 private:
  TempDir dir_;
  std::unique_ptr<Replica> replica_;
};

struct ProcessResult {
  int status = -1;  // exit status, or 128 + signal
  std::string err;
};

// Runs `libreta-server args...` to its end, collecting stderr; killed after `timeout`.
ProcessResult run_server_binary(const std::vector<std::string>& args,
                                std::chrono::milliseconds timeout = kDeadline) {
  int err_pipe[2];
  REQUIRE(::pipe2(err_pipe, O_CLOEXEC) == 0);
  std::vector<std::string> argv_text{LIBRETA_SERVER_BINARY};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_text) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(err_pipe[1], STDERR_FILENO);
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  ProcessResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd readable{err_pipe[0], POLLIN, 0};
    if (left.count() <= 0 || ::poll(&readable, 1, static_cast<int>(left.count())) == 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    char chunk[4096];
    const ssize_t got = ::read(err_pipe[0], chunk, sizeof chunk);
    if (got <= 0) break;
    result.err.append(chunk, static_cast<std::size_t>(got));
  }
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace

TEST_CASE("tls: replicas sync over wss:// trusting the server's CA file", "[e2e][tls]") {
  TlsFiles tls;
  ServerFixture server(tls.server_options());
  const std::string token = server.create_token("office", server::Role::manager);

  Device ana;
  const std::string id = ana.add_customer("Ferretería Peña S.L.");
  SyncOptions ana_options = ana.options(wss_url("127.0.0.1", server.port()), token);
  ana_options.ca_file = tls.ca_file().string();
  const SyncStatus pushed = sync_once(ana.file(), ana_options, kDeadline);
  INFO((pushed.last_error ? pushed.last_error->message : "no error"));
  REQUIRE(is_synced(pushed));
  CHECK(server.store().last_seq() > 0);

  // By name: the name goes out in SNI and is checked against the certificate's DNS entry.
  Device ben;
  SyncOptions ben_options = ben.options(wss_url("localhost", server.port()), token);
  ben_options.ca_file = tls.ca_file().string();
  SyncSession session(ben.file(), ben_options);
  session.start();
  REQUIRE(session.wait_until_synced(kDeadline));
  REQUIRE(ben.replica().customer(id).has_value());
  CHECK(ben.replica().customer(id)->name == "Ferretería Peña S.L.");

  // Live updates flow over the same encrypted connection.
  const std::string later = ana.add_customer("Bar El Rincón");
  REQUIRE(is_synced(sync_once(ana.file(), ana_options, kDeadline)));
  auto reader = Replica::open(ben.file());
  REQUIRE(session.wait_until([&](const SyncStatus&) { return reader->customer(later).has_value(); },
                             kDeadline));
  session.stop();
}

TEST_CASE("tls: a client that trusts another CA refuses the server and sends it nothing",
          "[e2e][tls]") {
  TlsFiles tls;
  TlsFiles impostor;  // another CA: what an attacker's certificate would chain to
  ServerFixture server(tls.server_options());
  Device device;
  device.add_customer("Librería Ávila");
  const std::size_t pending = device.replica().pending_count();
  REQUIRE(pending > 0);

  SyncOptions options = device.options(wss_url("127.0.0.1", server.port()),
                                       server.create_token("office", server::Role::manager));
  options.ca_file = impostor.ca_file().string();
  const SyncStatus status = sync_once(device.file(), options, kDeadline);
  REQUIRE(status.last_error.has_value());
  CHECK(status.last_error->code == ErrorCode::tls);
  INFO(status.last_error->message);
  CHECK(status.last_error->message.find("not trusted") != std::string::npos);
  CHECK(status.last_error->message.find("certificate") != std::string::npos);
  CHECK_FALSE(status.connected);

  // Nothing crossed: the server stored nothing and never heard of the replica; the change is
  // still waiting on the device.
  CHECK(server.store().last_seq() == 0);
  CHECK(server.store().acked(device.replica().replica_id()) == 0);
  CHECK(device.replica().pending_count() == pending);

  SECTION("so does a client that trusts only the system's store") {
    options.ca_file.clear();
    const SyncStatus system_store = sync_once(device.file(), options, kDeadline);
    REQUIRE(system_store.last_error.has_value());
    CHECK(system_store.last_error->code == ErrorCode::tls);
    CHECK(server.store().last_seq() == 0);
  }
}

TEST_CASE("tls: a certificate for another host is refused", "[e2e][tls]") {
  Device device;
  device.add_customer("Bar El Rincón");
  const std::size_t pending = device.replica().pending_count();

  SECTION("connecting by IP address to a certificate that names only a host") {
    TlsFiles tls({"sync.example.test"}, {});
    ServerFixture server(tls.server_options());
    SyncOptions options = device.options(wss_url("127.0.0.1", server.port()), "any-token");
    options.ca_file = tls.ca_file().string();
    const SyncStatus status = sync_once(device.file(), options, kDeadline);
    REQUIRE(status.last_error.has_value());
    CHECK(status.last_error->code == ErrorCode::tls);
    INFO(status.last_error->message);
    CHECK(status.last_error->message.find("IP address mismatch") != std::string::npos);
    CHECK(server.store().last_seq() == 0);
  }
  SECTION("connecting by name to a certificate that names only an address") {
    TlsFiles tls({}, {"127.0.0.1"});
    ServerFixture server(tls.server_options());
    SyncOptions options = device.options(wss_url("localhost", server.port()), "any-token");
    options.ca_file = tls.ca_file().string();
    const SyncStatus status = sync_once(device.file(), options, kDeadline);
    REQUIRE(status.last_error.has_value());
    CHECK(status.last_error->code == ErrorCode::tls);
    INFO(status.last_error->message);
    CHECK(status.last_error->message.find("hostname mismatch") != std::string::npos);
    CHECK(server.store().last_seq() == 0);
  }
  CHECK(device.replica().pending_count() == pending);
}

TEST_CASE("tls: a wss:// client to a plain server fails with a clear TLS error", "[e2e][tls]") {
  TlsFiles tls;
  ServerFixture server;  // plain ws://
  Device device;
  SyncOptions options = device.options(wss_url("127.0.0.1", server.port()), "any-token");
  options.ca_file = tls.ca_file().string();
  const SyncStatus status = sync_once(device.file(), options, kDeadline);
  REQUIRE(status.last_error.has_value());
  CHECK(status.last_error->code == ErrorCode::tls);
  INFO(status.last_error->message);
  CHECK(status.last_error->message.find("does the server speak TLS?") != std::string::npos);
}

TEST_CASE("tls: a CA file that cannot be read is a clear error", "[e2e][tls]") {
  Device device;
  SyncOptions options = device.options("wss://127.0.0.1:9/sync", "any-token");
  options.ca_file = device.file().parent_path() / "no-such-ca.pem";
  const SyncStatus status = sync_once(device.file(), options, kDeadline);
  REQUIRE(status.last_error.has_value());
  CHECK(status.last_error->code == ErrorCode::tls);
  CHECK(status.last_error->message.find("no-such-ca.pem") != std::string::npos);
}

TEST_CASE("tls: /healthz answers over https, and TLS below 1.2 is refused", "[e2e][tls]") {
  TlsFiles tls;
  ServerFixture server(tls.server_options());

  ssl::context trusting(ssl::context::tls_client);
  trusting.load_verify_file(tls.ca_file().string());
  trusting.set_verify_mode(ssl::verify_peer);
  const ProbeResult health = tls_probe(server.port(), trusting, "/healthz");
  REQUIRE_FALSE(health.handshake);
  REQUIRE(health.response.has_value());
  CHECK(health.response->result_int() == 200);
  CHECK(health.response->body().find("\"status\":\"ok\"") != std::string::npos);

  // A client that offers at most TLS 1.1 (allowed on its side by security level 0) is told
  // by the server that the protocol version is not acceptable.
  ssl::context old_client(ssl::context::tls_client);
  SSL_CTX_set_security_level(old_client.native_handle(), 0);
  SSL_CTX_set_min_proto_version(old_client.native_handle(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(old_client.native_handle(), TLS1_1_VERSION);
  const ProbeResult old = tls_probe(server.port(), old_client, std::nullopt);
  REQUIRE(old.handshake);
  INFO(old.handshake.message());
  CHECK(ssl_reason(old.handshake) == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION);
}

TEST_CASE("tls: a connection that never starts its TLS handshake is closed after the timeout",
          "[e2e][tls]") {
  TlsFiles tls;
  server::ServerOptions options = tls.server_options();
  options.handshake_timeout = 300ms;
  ServerFixture server(options);

  asio::io_context io;
  beast::tcp_stream silent(io);
  silent.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  // The deadline of this read is the test's, far beyond the server's timeout.
  silent.expires_after(kDeadline);
  char byte = 0;
  beast::error_code read_ec;
  const auto started = std::chrono::steady_clock::now();
  silent.async_read_some(asio::buffer(&byte, 1),
                         [&](beast::error_code ec, std::size_t) { read_ec = ec; });
  io.run();
  const auto waited = std::chrono::steady_clock::now() - started;
  INFO(read_ec.message());
  CHECK((read_ec == asio::error::eof || read_ec == asio::error::connection_reset));
  CHECK(waited >= 250ms);
  CHECK(waited < kDeadline);
}

TEST_CASE("tls: a plain server does not start on an address that is not loopback", "[e2e][tls]") {
  TempDir dir;
  auto store = server::open_sqlite_store(dir.file("server.db"));
  auto service = server::SyncService::create(*store);
  server::ServerOptions options = ServerFixture::quiet_options();
  options.address = "0.0.0.0";
  options.port = 0;

  SECTION("refused without allow_plain") {
    server::Server plain(options, service);
    try {
      plain.start();
      FAIL("a plain server started on 0.0.0.0");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find("not a loopback address") != std::string::npos);
    }
    CHECK(plain.port() == 0);
  }
  SECTION("started with allow_plain") {
    options.allow_plain = true;
    server::Server plain(options, service);
    plain.start();
    CHECK(plain.port() != 0);
    plain.stop();
  }
  SECTION("started with TLS") {
    TlsFiles tls;
    options.tls_cert_file = tls.server().cert.string();
    options.tls_key_file = tls.server().key.string();
    server::Server secure(options, service);
    secure.start();
    CHECK(secure.port() != 0);
    secure.stop();
  }
  service->stop();
}

TEST_CASE("tls: a certificate without its key, or a key that does not match, stops the start",
          "[e2e][tls]") {
  TlsFiles tls;
  TlsFiles other;
  TempDir dir;
  auto store = server::open_sqlite_store(dir.file("server.db"));
  auto service = server::SyncService::create(*store);
  server::ServerOptions options = tls.server_options();

  SECTION("no key") {
    options.tls_key_file.clear();
    server::Server server(options, service);
    CHECK_THROWS_AS(server.start(), std::invalid_argument);
  }
  SECTION("another certificate's key") {
    options.tls_key_file = other.server().key.string();
    server::Server server(options, service);
    try {
      server.start();
      FAIL("a server started with another certificate's key");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find(options.tls_key_file) != std::string::npos);
    }
  }
  SECTION("a certificate file that is not PEM") {
    options.tls_cert_file = options.tls_key_file + ".missing";
    server::Server server(options, service);
    try {
      server.start();
      FAIL("a server started without its certificate");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find(options.tls_cert_file) != std::string::npos);
    }
  }
  service->stop();
}

TEST_CASE("tls: libreta-server refuses plain ws:// on a public address with a clear message",
          "[e2e][tls]") {
  TempDir dir;
  const std::string db = dir.file("server.db").string();

  const ProcessResult plain = run_server_binary({"serve", "--listen", "0.0.0.0:0", "--db", db});
  CHECK(plain.status == 3);
  CHECK(plain.err.find("not a loopback address") != std::string::npos);
  CHECK(plain.err.find("--tls-cert") != std::string::npos);
  CHECK(plain.err.find("--allow-plain") != std::string::npos);
  // Refused before the database was touched.
  CHECK_FALSE(std::filesystem::exists(db));

  TlsFiles tls;
  const ProcessResult half = run_server_binary(
      {"serve", "--listen", "127.0.0.1:0", "--db", db, "--tls-cert", tls.server().cert.string()});
  CHECK(half.status == 3);
  CHECK(half.err.find("--tls-key") != std::string::npos);

  const ProcessResult broken =
      run_server_binary({"serve", "--listen", "127.0.0.1:0", "--db", db, "--tls-cert",
                         tls.server().key.string(), "--tls-key", tls.server().key.string()});
  CHECK(broken.status == 3);
  CHECK(broken.err.find("TLS certificate") != std::string::npos);
}

TEST_CASE("tls: the client refuses ws:// to a host that is not loopback", "[e2e][tls]") {
  Device device;
  device.add_customer("Construcciones Duero");
  // 192.0.2.1 is TEST-NET-1 (RFC 5737): never a real host.
  SyncOptions options = device.options("ws://192.0.2.1:9/sync", "any-token");
  const auto started = std::chrono::steady_clock::now();
  const SyncStatus status = sync_once(device.file(), options, kDeadline);
  REQUIRE(status.last_error.has_value());
  CHECK(status.last_error->code == ErrorCode::tls);
  INFO(status.last_error->message);
  CHECK(status.last_error->message.find("not a loopback address") != std::string::npos);
  CHECK(status.last_error->message.find("wss://") != std::string::npos);
  // Refused before connecting: no connect timeout was waited for.
  CHECK(std::chrono::steady_clock::now() - started < options.connect_timeout);

  SECTION("unless plain connections are allowed: then it tries the network") {
    options.allow_plain = true;
    options.connect_timeout = 300ms;
    SyncSession session(device.file(), options);
    session.start();
    REQUIRE(session.wait_until([](const SyncStatus& s) { return s.last_error.has_value(); },
                               kDeadline));
    CHECK(session.status().last_error->code != ErrorCode::tls);
    session.stop();
  }
}
