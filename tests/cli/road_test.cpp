// A seller's day on the road against a real server (ServerFixture, in this process, on an
// ephemeral port) with the real `libreta` binary: init, import, work offline, sync; a
// manager's device then sees the same book. Also `sync --watch` and the sync exit codes.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <set>
#include <thread>

#include "cli/cli_fixture.hpp"
#include "libreta/protocol/compression.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/messages.hpp"
#include "support/server_fixture.hpp"
#include "support/ws_client.hpp"

using libreta::test::CliFixture;
using libreta::test::ServerFixture;
using nlohmann::json;

namespace {

json sorted_by_id(json list) {
  std::sort(list.begin(), list.end(),
            [](const json& a, const json& b) { return a["id"] < b["id"]; });
  return list;
}

// Everything a device shows of the book: customers, and each one's full record.
json whole_book(CliFixture& device) {
  json out = json::object();
  const json customers = sorted_by_id(device.json({"customer", "list"}));
  out["customers"] = customers;
  for (const auto& c : customers) {
    json shown = device.json({"customer", "show", c["id"].get<std::string>()});
    for (const char* list : {"contacts", "interactions", "purchases", "followups"}) {
      shown[list] = sorted_by_id(shown[list]);
    }
    out[c["id"].get<std::string>()] = shown;
  }
  out["followups"] = device.json({"followups"});
  return out;
}

// `libreta init` against the server with a new token of `user`; true when it succeeded.
bool init_for(CliFixture& device, ServerFixture& server, const std::string& user,
              libreta::server::Role role = libreta::server::Role::manager) {
  return device.run({"init", "--server", server.url(), "--token", server.create_token(user, role)})
             .status == 0;
}

}  // namespace

TEST_CASE("road: a seller's day offline, then a sync; the manager's device sees the same book",
          "[cli][road][sync]") {
  ServerFixture server;
  CliFixture seller;
  REQUIRE(seller
              .run({"init", "--server", server.url(), "--token", server.create_token("ana"),
                    "--owner", "ana"})
              .status == 0);

  // Morning: the spreadsheet from the office.
  const auto sheet =
      seller.write_file("cartera.csv",
                        "Razón social;NIF;Teléfono;Ciudad;Estado;Facturación\r\n"
                        "Ferretería López;B12345674;923 123 456;Salamanca;activo;12.500,00\r\n"
                        "Bar El Rincón;B87654321;980 111 222;Zamora;ocasional;3.200,50\r\n"
                        "Librería Ávila;B05009988;920 222 333;Ávila;potencial;\r\n");
  REQUIRE(seller.json({"import", sheet.string()})["created"] == 3);

  // On the road, no network needed: a new prospect, an edit, visits with follow-ups.
  const std::string nuevo = seller.json(
      {"customer", "add", "--name", "Construcciones Duero", "--city", "Valladolid"})["id"];
  REQUIRE(
      seller.run({"customer", "edit", "ferretería", "--set", "segment=A", "--tag", "vip"}).status ==
      0);
  REQUIRE(
      seller.run({"contact", "add", "ferretería", "--name", "Ana López", "--mobile", "600 123 456"})
          .status == 0);
  REQUIRE(seller
              .run({"log", "ferretería", "--type", "visit", "--outcome", "positive", "--note",
                    "Quiere catálogo", "--follow-up", "+2"})
              .status == 0);
  REQUIRE(
      seller.run({"log", nuevo, "--type", "quote", "--lost-reason", "Precio", "--revisit", "+30"})
          .status == 0);
  REQUIRE(
      seller.run({"purchase", "add", "bar el rincón", "--product", "Vajilla", "--amount", "180"})
          .status == 0);
  CHECK(seller.json({"status"})["pending_changes"].get<int>() > 0);

  // Evening: a connection.
  const json synced = seller.json({"sync", "--timeout", "30"});
  CHECK(synced["synced"] == true);
  CHECK(synced["pending_changes"] == 0);
  const json status = seller.json({"status"});
  INFO(status.dump());
  CHECK(status["pending_changes"] == 0);
  CHECK_FALSE(status["last_sync_ms"].is_null());
  CHECK(status["conflicts"].empty());

  // The manager's device, after its own sync, holds the same book.
  CliFixture manager;
  REQUIRE(init_for(manager, server, "jefa", libreta::server::Role::manager));
  REQUIRE(manager.run({"sync", "--timeout", "30"}).status == 0);
  CHECK(whole_book(manager) == whole_book(seller));
}

TEST_CASE("road: sync --watch keeps syncing until SIGINT and reports status changes",
          "[cli][road][sync]") {
  ServerFixture server;
  CliFixture seller, manager;
  REQUIRE(init_for(seller, server, "ana"));
  REQUIRE(init_for(manager, server, "jefa"));

  auto watch = seller.start({"sync", "--watch"});
  REQUIRE(watch->wait_for_output("up to date", std::chrono::seconds(30)));
  CHECK(seller.json({"status"})["sync_running"] == true);

  // A change made meanwhile through another command reaches the manager.
  REQUIRE(seller.run({"customer", "add", "--name", "Añadido en marcha"}).status == 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    REQUIRE(manager.run({"sync", "--timeout", "30"}).status == 0);
    seen = manager.json({"search", "añadido"}).size() == 1;  // the watcher pushes on its own
  }
  CHECK(seen);

  watch->signal(SIGINT);
  const auto result = watch->wait(std::chrono::seconds(30));
  CHECK(result.status == 0);
  CHECK(result.out.find("Sync stopped") != std::string::npos);
}

TEST_CASE("road: sync failures exit with the network code and a clear message",
          "[cli][road][sync]") {
  ServerFixture server;
  CliFixture seller;

  SECTION("no server configured") {
    REQUIRE(seller.run({"init"}).status == 0);
    const auto r = seller.run({"sync"});
    CHECK(r.status == 2);
    CHECK(r.err.find("no server configured") != std::string::npos);
  }
  SECTION("a token the server does not know") {
    REQUIRE(seller.run({"init", "--server", server.url(), "--token", "not-a-token"}).status == 0);
    const auto r = seller.run({"sync", "--timeout", "20"});
    CHECK(r.status == 4);
    CHECK(r.err.find("could not sync") != std::string::npos);
  }
  SECTION("nobody listening") {
    const std::string url = server.url();
    server.stop();
    REQUIRE(seller.run({"init", "--server", url, "--token", "x"}).status == 0);
    REQUIRE(seller.run({"customer", "add", "--name", "Pendiente"}).status == 0);
    const auto r = seller.run({"sync", "--timeout", "2"});
    CHECK(r.status == 4);
    CHECK(seller.json({"status"})["pending_changes"].get<int>() > 0);
  }
}

TEST_CASE(
    "road: an edit made before the device heard that the office gave the customer to another "
    "seller reaches the new owner, and the customer leaves her book",
    "[cli][road][scope]") {
  ServerFixture server;
  CliFixture seller;
  REQUIRE(init_for(seller, server, "ana", libreta::server::Role::seller));
  const std::string id =
      seller.json({"customer", "add", "--name", "Talleres Norte", "--city", "León"})["id"];
  REQUIRE(seller.run({"sync"}).status == 0);
  // The server made her the owner; a sync that ended with her push's acknowledgement may
  // bring that on the next one.
  REQUIRE(seller.run({"sync"}).status == 0);
  CHECK(seller.json({"customer", "show", id})["customer"]["owner"] == "ana");

  // The office gives the customer to Luis, from its own device.
  libreta::test::WsClient office;
  office.connect(server.url());
  libreta::Hello hello;
  hello.schema = libreta::kCustomerBookSchemaVersion;
  hello.replica = "office1";
  hello.token = server.create_token("marta", libreta::server::Role::manager);
  REQUIRE(office.send_text(libreta::encode_message(hello)));
  REQUIRE(office.receive());  // welcome
  const auto now =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  libreta::Push give;
  give.changes.push_back(
      {1, libreta::Change{"customers",
                          id,
                          "owner",
                          {},
                          libreta::Value("luis"),
                          libreta::Version{libreta::Hlc::from_parts(now, 0), "office1"},
                          {}}});
  REQUIRE(office.send_text(libreta::encode_message(give)));
  // The ack may come compressed (protocol 2 and later): it names the conflict with the
  // owner the server gave the customer.
  std::string reply = office.receive().value_or("");
  if (reply.compare(0, 4, "\x28\xb5\x2f\xfd") == 0) {
    auto text = libreta::decompress_message(reply, 1 << 20);
    REQUIRE(text.ok());
    reply = std::move(text).value();
  }
  const auto ack = libreta::decode_message(reply);
  REQUIRE((ack.ok() && std::holds_alternative<libreta::Ack>(ack.value())));
  REQUIRE(std::get<libreta::Ack>(ack.value()).refused.empty());

  // Ana, who has not synced since, edits it later that day.
  while (static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count()) < now + 3) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // until the clock moves on
  }
  REQUIRE(seller.run({"customer", "edit", id, "--set", "city=Ponferrada"}).status == 0);
  seller.run({"sync"});

  const json status = seller.json({"status"});
  INFO(status.dump());
  CHECK(status["pending_changes"] == 0);
  // Her device could not know: the edit is taken, for Luis, and nothing is refused.
  CHECK(status["refused"].empty());
  CHECK(server.store().canonical_dump().find("Ponferrada") != std::string::npos);
  // The customer has left her book.
  CHECK(seller.run({"customer", "show", id}).status != 0);
}

TEST_CASE(
    "road: status shows an edit kept under a customer another seller deleted, in the seller's "
    "language",
    "[cli][road][conflict]") {
  ServerFixture server;
  CliFixture ana, ben;
  REQUIRE(init_for(ana, server, "ana"));
  REQUIRE(init_for(ben, server, "ben"));
  const std::string id =
      ana.json({"customer", "add", "--name", "Talleres Norte", "--city", "León"})["id"];
  REQUIRE(ana.run({"sync"}).status == 0);
  REQUIRE(ben.run({"sync"}).status == 0);
  REQUIRE(ben.json({"customer", "show", id})["customer"]["name"] == "Talleres Norte");

  // Ana deletes the customer; Ben, who has not synced since, writes a note on it.
  REQUIRE(ana.run({"customer", "delete", id}).status == 0);
  REQUIRE(ana.run({"sync"}).status == 0);
  REQUIRE(
      ben.run({"customer", "edit", id, "--set", "notes=Llamar el lunes", "--status", "inactive"})
          .status == 0);
  REQUIRE(ben.run({"sync"}).status == 0);

  const auto english = ben.run({"status"});
  INFO(english.out << english.err);
  CHECK(english.status == 0);
  CHECK(english.out.find("Talleres Norte: deleted by ana") != std::string::npos);
  CHECK(english.out.find("your edit of Notes was kept under the deletion — ask the office to "
                         "restore it") != std::string::npos);
  CHECK(english.out.find("your edit of Status was kept under the deletion") != std::string::npos);

  ben.lang = "es_ES.UTF-8";
  const auto spanish = ben.run({"status"});
  INFO(spanish.out << spanish.err);
  CHECK(spanish.status == 0);
  CHECK(spanish.out.find("Talleres Norte: lo borró ana") != std::string::npos);
  CHECK(spanish.out.find("pida a la oficina que lo recupere") != std::string::npos);

  const json status = ben.json({"status"});
  // The notes, the status and the edit's own updated_at.
  REQUIRE(status["conflicts"].size() >= 2);
  std::set<std::string> lost_values;
  for (const auto& conflict : status["conflicts"]) {
    CHECK(conflict["kind"] == "edit_of_deleted");
    CHECK(conflict["side"] == "lost");
    CHECK(conflict["kept_by"] == "ana");
    CHECK(conflict["kept"] == true);
    lost_values.insert(conflict["lost"].get<std::string>());
  }
  CHECK(lost_values.count("Llamar el lunes") == 1);
  CHECK(lost_values.count("inactive") == 1);
  // Ana's device lists it among her changes that won.
  REQUIRE(ana.run({"sync"}).status == 0);
  const auto ana_status = ana.run({"status"});
  CHECK(ana_status.status == 0);
  CHECK(ana_status.out.find("Changes of yours that lost") == std::string::npos);
}

TEST_CASE(
    "road: a change of owner the server refuses is undone, and status says why in the seller's "
    "language",
    "[cli][road][scope][refusals]") {
  ServerFixture server;
  CliFixture seller;
  REQUIRE(init_for(seller, server, "ana", libreta::server::Role::seller));
  const std::string id =
      seller.json({"customer", "add", "--name", "Talleres Sur", "--city", "Cádiz"})["id"];
  REQUIRE(seller.run({"sync"}).status == 0);
  REQUIRE(seller.run({"sync"}).status == 0);
  REQUIRE(seller.json({"customer", "show", id})["customer"]["owner"] == "ana");

  REQUIRE(seller.run({"customer", "edit", id, "--owner", "bob"}).status == 0);
  CHECK(seller.json({"customer", "show", id})["customer"]["owner"] == "bob");
  seller.run({"sync"});

  // Her device shows what the server holds: she is still the owner.
  CHECK(seller.json({"customer", "show", id})["customer"]["owner"] == "ana");
  CHECK(server.store().canonical_dump().find("\"bob\"") == std::string::npos);

  seller.lang = "es_ES.UTF-8";
  const auto spanish = seller.run({"status"});
  INFO(spanish.out << spanish.err);
  CHECK(spanish.status == 0);
  CHECK(spanish.out.find("Talleres Sur, Vendedor: solo un responsable puede pasar un cliente a "
                         "otro vendedor") != std::string::npos);
  // Nothing in English inside the Spanish report (the server's own words are in --json).
  CHECK(spanish.out.find("only a manager") == std::string::npos);
  seller.lang = "C";
  const auto english = seller.run({"status"});
  CHECK(english.out.find("Talleres Sur, Owner: only a manager can give a customer to another "
                         "seller; ask the office") != std::string::npos);
  const json status = seller.json({"status"});
  REQUIRE(status["refused"].size() == 1);
  CHECK(status["refused"][0]["field"] == "owner");
  CHECK(status["refused"][0]["code"] == "forbidden");
}

TEST_CASE(
    "road: the seller whose edit lost a conflict sees it after her next sync, though she "
    "synced first",
    "[cli][road][conflict]") {
  ServerFixture server;
  CliFixture ana, ben;
  REQUIRE(init_for(ana, server, "ana"));
  REQUIRE(init_for(ben, server, "ben"));
  const std::string id =
      ana.json({"customer", "add", "--name", "Ferretería López", "--city", "Salamanca"})["id"];
  REQUIRE(ana.run({"sync"}).status == 0);
  REQUIRE(ben.run({"sync"}).status == 0);

  // Both change the phone offline; Ana syncs first, Ben's later edit wins.
  REQUIRE(ana.run({"customer", "edit", id, "--phone", "923 111 111"}).status == 0);
  REQUIRE(ana.run({"sync"}).status == 0);
  REQUIRE(ben.run({"customer", "edit", id, "--phone", "923 222 222"}).status == 0);
  REQUIRE(ben.run({"sync"}).status == 0);
  REQUIRE(ana.run({"sync"}).status == 0);
  CHECK(ana.json({"customer", "show", id})["customer"]["phone"] == "923 222 222");

  const auto english = ana.run({"status"});
  INFO(english.out << english.err);
  CHECK(english.status == 0);
  CHECK(english.out.find("Changes of yours that lost to someone else's:") != std::string::npos);
  CHECK(english.out.find("Ferretería López, Phone: ben's '923 222 222' was kept") !=
        std::string::npos);
  CHECK(english.out.find("yours, '923 111 111', was lost") != std::string::npos);
  ana.lang = "es_ES.UTF-8";
  const auto spanish = ana.run({"status"});
  CHECK(spanish.out.find("Cambios suyos que perdieron frente a los de otra persona:") !=
        std::string::npos);
  CHECK(spanish.out.find("Ferretería López, Teléfono: quedó «923 222 222», de ben") !=
        std::string::npos);

  // Ben's device lists it only among the changes of his that won.
  const auto won = ben.run({"status"});
  INFO(won.out);
  CHECK(won.out.find("Changes of yours that lost") == std::string::npos);
  CHECK(won.out.find("Your changes that won over someone else's:") != std::string::npos);
  const json ben_status = ben.json({"status"});
  bool phone_won = false;
  for (const auto& conflict : ben_status["conflicts"]) {
    CHECK(conflict["side"] == "won");
    phone_won = phone_won || conflict["field"] == "phone";
  }
  CHECK(phone_won);
}
