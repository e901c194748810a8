// What a new seller meets first: the server's address as people write it, a sync that does
// not wait a minute for a server that is not there, counts of one in the singular, and
// nothing in English inside the Spanish interface.
#include <catch2/catch.hpp>

#include <chrono>

#include "cli/cli_fixture.hpp"

namespace libreta::test {

TEST_CASE("first use: the server's address without /sync is the sync endpoint", "[cli][sync]") {
  CliFixture cli;
  CHECK(cli.json({"init", "--server", "ws://127.0.0.1:9", "--token", "t"})["server"] ==
        "ws://127.0.0.1:9/sync");
  CHECK(cli.json({"init", "--server", "wss://libreta.example.com/"})["server"] ==
        "wss://libreta.example.com/sync");
  CHECK(cli.json({"init", "--server", "wss://proxy.example.com/libreta/sync"})["server"] ==
        "wss://proxy.example.com/libreta/sync");
  const auto bad = cli.run({"init", "--server", "libreta.example.com:8443"});
  CHECK(bad.status != 0);
  CHECK(bad.err.find("wss://") != std::string::npos);
}

TEST_CASE("first use: a sync with no server listening fails in seconds, in Spanish",
          "[cli][sync]") {
  CliFixture cli;
  // Port 9 (discard) on loopback: nothing listens there, every connection is refused.
  REQUIRE(cli.run({"init", "--server", "ws://127.0.0.1:9/sync", "--token", "t"}).status == 0);
  cli.lang = "es_ES.UTF-8";
  const auto start = std::chrono::steady_clock::now();
  const auto failed = cli.run({"sync", "--timeout", "60"});
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(failed.status == 4);
  CHECK(took < std::chrono::seconds(20));  // not the whole minute
  CHECK(failed.err.find("no se puede conectar con el servidor") != std::string::npos);
  CHECK(failed.err.find("Connection refused") == std::string::npos);
}

TEST_CASE("first use: parse errors and allowed values in the seller's language", "[cli][i18n]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  cli.lang = "es_ES.UTF-8";
  const auto extra = cli.run({"customer", "list", "sobra"});
  CHECK(extra.status != 0);
  CHECK(extra.err.find("no se esperaba: sobra") != std::string::npos);
  CHECK(extra.err.find("not expected") == std::string::npos);

  const auto choice = cli.run({"customer", "add", "--name", "Ana", "--status", "contenta"});
  CHECK(choice.status != 0);
  CHECK(choice.err.find("activo") != std::string::npos);
  CHECK(choice.err.find("prospect,") == std::string::npos);

  REQUIRE(cli.run({"customer", "add", "--name", "Ana Peña"}).status == 0);
  const auto one = cli.run({"customer", "list"});
  CHECK(one.out.find("1 cliente") != std::string::npos);
  CHECK(one.out.find("1 clientes") == std::string::npos);
  const auto found = cli.run({"search", "pena"});
  CHECK(found.out.find("1 resultado") != std::string::npos);
  CHECK(found.out.find("1 resultados") == std::string::npos);
}

}  // namespace libreta::test
