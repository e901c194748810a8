// The sync service without sockets: a connection fed frames directly, answering through an
// in-memory transport whose posted work runs on the test's thread, like a strand.
#include "server/service_harness.hpp"

using namespace libreta;
using namespace libreta::server;
using namespace libreta::server::testing;

namespace {

// A push of `count` new customers c0, c1... named `name` and their number, the device's
// first changes: three each, sequences 1 to 3 × count.
Push new_customers(const std::string& replica, int count, const std::string& name = "Cliente ") {
  Push push;
  std::uint64_t seq = 0;
  for (int i = 0; i < count; ++i) {
    append(push, new_customer(seq, replica, "c" + std::to_string(i), name + std::to_string(i),
                              kNow - 10));
  }
  return push;
}

}  // namespace

TEST_CASE("service: a bad token gets a clear error and the connection is closed",
          "[service][auth]") {
  ServiceCase t;
  Client client = t.connect("dev1");
  client.send(Hello{kProtocolVersion, kCustomerBookSchemaVersion, "dev1", "lbt_not-a-token"});
  auto error = client.out->next_as<ProtocolError>();
  CHECK(error.code == ErrorCode::bad_token);
  CHECK(error.fatal);
  CHECK(client.out->closed());
}

TEST_CASE("service: messages before hello, and a newer schema, are refused", "[service][auth]") {
  ServiceCase t;
  Client early = t.connect("dev1");
  early.send(Pull{0, 0});
  CHECK(early.out->next_as<ProtocolError>().code == ErrorCode::out_of_order);
  CHECK(early.out->closed());

  Client newer = t.connect("dev2");
  newer.send(Hello{kProtocolVersion, kCustomerBookSchemaVersion + 1, "dev2", t.token("ana")});
  CHECK(newer.out->next_as<ProtocolError>().code == ErrorCode::unsupported_schema);
}

TEST_CASE("service: a push is stored, acknowledged, and sending it again changes nothing",
          "[service][push]") {
  ServiceCase t;
  Client client = t.connect("dev1");
  CHECK(client.hello(t.token("ana")).acked == 0);
  std::uint64_t device_seq = 0;
  const Push push{new_customer(device_seq, "dev1", "c1", "Bar Pepe", kNow - 10)};
  client.send(push);
  CHECK(client.out->next_as<Ack>().upto == 3);
  const std::string dump = t.store().canonical_dump();
  CHECK(dump.find("Bar Pepe") != std::string::npos);
  const auto seq = t.store().last_seq();

  client.send(push);
  CHECK(client.out->next_as<Ack>().upto == 3);
  CHECK(t.store().canonical_dump() == dump);
  CHECK(t.store().last_seq() == seq);

  // A reconnecting device learns what the server already holds.
  Client again = t.connect("dev1");
  CHECK(again.hello(t.token("ana")).acked == 3);
}

TEST_CASE("service: invalid changes are refused one by one, with reasons, and the rest stored",
          "[service][push][validation]") {
  ServiceCase t;
  Client client = t.connect("dev1");
  client.hello(t.token("ana"));
  std::uint64_t seq = 0;
  Push push{new_customer(seq, "dev1", "c1", "Bar Pepe", kNow - 10)};
  push.changes.push_back(pushed(4, "dev1", "c1", "status", Value("dormido"), kNow - 9));
  push.changes.push_back(pushed(5, "dev2", "c1", "city", Value("Vigo"), kNow - 9));
  push.changes.push_back(pushed(6, "dev1", "c1", "city", Value("Lugo"), kNow + 3'600'000));
  client.send(push);
  auto ack = client.out->next_as<Ack>();
  CHECK(ack.upto == 6);
  REQUIRE(ack.refused.size() == 3);
  CHECK(ack.refused[0].seq == 4);
  CHECK(ack.refused[0].code == ErrorCode::invalid_value);
  CHECK(ack.refused[1].code == ErrorCode::forbidden);
  CHECK(ack.refused[2].code == ErrorCode::clock_skew);
  const std::string dump = t.store().canonical_dump();
  CHECK(dump.find("Bar Pepe") != std::string::npos);
  CHECK(dump.find("dormido") == std::string::npos);
  CHECK(dump.find("Vigo") == std::string::npos);
}

TEST_CASE("service: malformed and unknown messages get a clear error and change nothing",
          "[service][validation]") {
  ServiceCase t;
  Client client = t.connect("dev1");
  client.hello(t.token("ana"));
  client.connection->on_message("{\"type\":\"push\",\"changes\":[{\"s\":1,");
  CHECK(client.out->next_as<ProtocolError>().code == ErrorCode::malformed);
  client.connection->on_message("{\"type\":\"teleport\"}");
  CHECK(client.out->next_as<ProtocolError>().code == ErrorCode::unknown_message);
  client.connection->on_message("{\"type\":\"pull\",\"since\":\"0\",\"after\":0}");
  CHECK(client.out->next_as<ProtocolError>().code == ErrorCode::wrong_type);
  client.connection->on_binary_message("\x28\xb5\x2f\xfd garbage");
  CHECK(client.out->next_as<ProtocolError>().code == ErrorCode::malformed);
  CHECK_FALSE(client.out->closed());  // an authenticated client may recover
  CHECK(t.store().last_seq() == 0);
  // And it still works.
  std::uint64_t seq = 0;
  client.send(Push{new_customer(seq, "dev1", "c1", "Bar Pepe", kNow - 10)});
  CHECK(client.out->next_as<Ack>().upto == 3);
}

TEST_CASE("service: concurrent edits of one field converge on the later one and fill the inbox",
          "[service][conflicts]") {
  ServiceCase t;
  Client ana = t.connect("dev-ana");
  Client luis = t.connect("dev-luis");
  ana.hello(t.token("ana"));
  luis.hello(t.token("luis"));
  std::uint64_t seq = 0;
  Push created{new_customer(seq, "dev-ana", "c1", "Bar Pepe", kNow - 100)};
  created.changes.push_back(pushed(++seq, "dev-ana", "c1", "city", Value("Sevilla"), kNow - 100));
  ana.send(created);
  CHECK(ana.out->next_as<Ack>().upto == 4);
  const Version base{Hlc::from_parts(kNow - 100, 0), "dev-ana"};
  // Both saw "Sevilla" and changed it; Luis's edit is later.
  ana.send(Push{{pushed(++seq, "dev-ana", "c1", "city", Value("Cádiz"), kNow - 50, base)}});
  CHECK(ana.out->next_as<Ack>().conflicts.empty());
  luis.send(Push{{pushed(1, "dev-luis", "c1", "city", Value("Huelva"), kNow - 40, base)}});
  auto ack = luis.out->next_as<Ack>();
  REQUIRE(ack.conflicts.size() == 1);
  CHECK(ack.conflicts[0].kept == Value("Huelva"));
  CHECK(ack.conflicts[0].lost == Value("Cádiz"));

  auto inbox = t.store().conflicts();
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0].field == "city");
  CHECK(inbox[0].kept_user == "luis");
  CHECK(inbox[0].lost_user == "ana");
  CHECK(inbox[0].lost_value == Value("Cádiz"));
  CHECK(inbox[0].lost_version.replica == "dev-ana");
  CHECK(inbox[0].detected_ms == kNow);

  // An older concurrent edit loses, and is recorded too.
  luis.send(Push{{pushed(2, "dev-luis", "c1", "name", Value("Bar Pepa"), kNow - 200,
                         Version{Hlc::from_parts(kNow - 300, 0), "dev-luis"})}});
  CHECK(luis.out->next_as<Ack>().conflicts.size() == 1);
  CHECK(t.store().conflicts().size() == 2);
  CHECK(t.store().canonical_dump().find("Bar Pepe") != std::string::npos);
}

TEST_CASE("service: a pull pages through everything, resumes mid-way, and then goes live",
          "[service][pull]") {
  ServiceCase t;  // three rows per page
  Client writer = t.connect("dev1");
  writer.hello(t.token("ana"));
  writer.send(new_customers("dev1", 8));
  writer.out->next_as<Ack>();

  Client reader = t.connect("dev2");
  reader.hello(t.token("luis"));
  reader.send(Pull{0, 0});
  auto first = reader.out->next_as<Rows>();
  CHECK(first.rows.size() == 3);
  CHECK(first.more);
  // The connection drops here; a new one resumes from the saved position.
  Client resumed = t.connect("dev2");
  resumed.hello(t.token("luis"));
  std::size_t total = first.rows.size();
  Rows page;
  std::uint64_t after = first.after;
  do {
    resumed.send(Pull{0, after});
    page = resumed.out->next_as<Rows>();
    total += page.rows.size();
    after = page.after;
  } while (page.more);
  CHECK(total == 8);
  CHECK(page.after == t.store().last_seq());

  // Live: a new commit reaches the caught-up connection without asking.
  writer.send(Push{{pushed(25, "dev1", "c2", "city", Value("Vigo"), kNow - 5)}});
  writer.out->next_as<Ack>();
  auto live = resumed.out->next_as<Rows>();
  CHECK(live.live);
  CHECK(live.since == page.after);
  REQUIRE(live.rows.size() == 1);
  CHECK(live.rows[0].fields.at("city") == Value("Vigo"));
  CHECK(live.rows[0].fields.count("name") == 0);  // only what changed travels
  CHECK(t.service().stats().live_connections >= 1);
  CHECK(writer.out->idle());  // the writer never pulled, so it is not live

  // An incremental pull from an older cursor sends only the changed field.
  Client late = t.connect("dev3");
  late.hello(t.token("eva"));
  const std::uint64_t before_city = t.store().last_seq() - 1;
  late.send(Pull{before_city, before_city});
  auto incremental = late.out->next_as<Rows>();
  REQUIRE(incremental.rows.size() == 1);
  CHECK(incremental.rows[0].fields.size() == 1);
}

TEST_CASE("service: protocol 2 compresses large messages both ways; protocol 1 stays text",
          "[service][compression]") {
  ServiceCase t([](SyncServiceOptions& options) {
    options.page_rows = 100;
    options.max_message_bytes = 64 * 1024;
  });
  // A device pushes a batch compressed: it is applied like a text one.
  Client writer = t.connect("dev1");
  writer.hello(t.token("ana"));
  const Push push = new_customers("dev1", 20, "Cliente número ");
  writer.send_compressed(push);
  CHECK(writer.out->next_as<Ack>().upto == 60);
  CHECK(t.store().last_seq() == 20);

  // A protocol 2 reader gets the page compressed, a protocol 1 reader the same rows as text.
  Client modern = t.connect("dev2");
  CHECK(modern.hello(t.token("luis")).protocol == kProtocolVersion);
  Client old = t.connect("dev3");
  CHECK(old.hello(t.token("eva"), 1).protocol == 1);
  modern.send(Pull{0, 0});
  old.send(Pull{0, 0});
  CHECK(modern.out->next_as<Rows>().rows.size() == 20);
  CHECK(modern.out->compressed_frames() == 1);
  CHECK(old.out->next_as<Rows>().rows.size() == 20);
  CHECK(old.out->compressed_frames() == 0);

  // Live: one commit of many rows reaches both, compressed only for the modern one.
  Push more;
  for (int i = 0; i < 20; ++i) {
    more.changes.push_back(pushed(i + 61, "dev1", "c" + std::to_string(i), "city",
                                  Value("Ciudad " + std::to_string(i)), kNow - 5));
  }
  writer.send(more);
  writer.out->next_as<Ack>();
  CHECK(modern.out->next_as<Rows>().rows.size() == 20);
  CHECK(modern.out->compressed_frames() == 2);
  CHECK(old.out->next_as<Rows>().rows.size() == 20);
  CHECK(old.out->compressed_frames() == 0);

  // A protocol 1 client may not send binary frames at all.
  old.send_compressed(push);
  CHECK(old.out->next_as<ProtocolError>().code == ErrorCode::malformed);

  // A compressed message over the limit once decompressed is refused before it is inflated,
  // and nothing changes; the connection stays usable.
  const std::uint64_t before = t.store().last_seq();
  Push huge;
  for (int i = 0; i < 2'000; ++i) {
    huge.changes.push_back(
        pushed(i + 81, "dev1", "c1", "notes", Value(std::string(100, 'x')), kNow - 1));
  }
  REQUIRE(encode_message(huge).size() > 64 * 1024);
  writer.send_compressed(huge);
  auto error = writer.out->next_as<ProtocolError>();
  CHECK(error.code == ErrorCode::too_large);
  CHECK_FALSE(error.fatal);
  CHECK(t.store().last_seq() == before);
  // Corrupt and trailing bytes are refused too.
  auto good = compress_message(encode_message(Message(more)), kDeviceCompressionLevel);
  REQUIRE(good);
  std::string corrupt = *good;
  corrupt[corrupt.size() / 2] ^= 0x5a;
  writer.connection->on_binary_message(corrupt);
  CHECK(writer.out->next_as<ProtocolError>().code == ErrorCode::malformed);
  writer.connection->on_binary_message(*good + "extra");
  CHECK(writer.out->next_as<ProtocolError>().code == ErrorCode::malformed);
  CHECK(t.store().last_seq() == before);
  CHECK_FALSE(writer.out->closed());
}

TEST_CASE("service: managers share full pages; a page whose row was written again is read afresh",
          "[service][pull][page-cache]") {
  ServiceCase t;  // three rows per page
  Client writer = t.connect("dev1");
  writer.hello(t.token("ana"));
  writer.send(new_customers("dev1", 8));
  writer.out->next_as<Ack>();
  auto ids = [](const Rows& page) {
    std::vector<std::string> out;
    for (const auto& row : page.rows) out.push_back(row.id);
    return out;
  };

  Client first = t.connect("dev2");
  first.hello(t.token("luis"));
  first.send(Pull{0, 0});
  const Rows page = first.out->next_as<Rows>();
  REQUIRE(page.more);
  CHECK(ids(page) == std::vector<std::string>{"c0", "c1", "c2"});
  const auto read_before = t.service().stats().pages_read;

  // Another manager, and one of protocol 1, get the same page without a store read.
  Client second = t.connect("dev3");
  second.hello(t.token("eva"));
  second.send(Pull{0, 0});
  CHECK(ids(second.out->next_as<Rows>()) == ids(page));
  Client old = t.connect("dev4");
  old.hello(t.token("pepe"), 1);
  old.send(Pull{0, 0});
  CHECK(ids(old.out->next_as<Rows>()) == ids(page));
  CHECK(t.service().stats().pages_read == read_before);
  CHECK(t.service().stats().pages_shared == 2);

  // c1 is written again: it leaves the first page for a later one, and the cached page with
  // it is not served any more.
  writer.send(Push{{pushed(25, "dev1", "c1", "city", Value("Vigo"), kNow - 5)}});
  writer.out->next_as<Ack>();
  Client third = t.connect("dev5");
  third.hello(t.token("rosa"));
  third.send(Pull{0, 0});
  CHECK(ids(third.out->next_as<Rows>()) == std::vector<std::string>{"c0", "c2", "c3"});
  CHECK(t.service().stats().pages_read == read_before + 1);

  // The whole pull, cached pages and fresh ones, is exactly the store's rows.
  std::vector<std::string> all;
  std::uint64_t after = 0;
  Rows next;
  do {
    third.send(Pull{0, after});
    next = third.out->next_as<Rows>();
    for (auto& id : ids(next)) all.push_back(id);
    after = next.after;
  } while (next.more);
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<std::string>{"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"});
  CHECK(next.after == t.store().last_seq());
}

TEST_CASE("service: sellers' pages are their own, never shared", "[service][pull][page-cache]") {
  ServiceCase t;
  const std::string ana = t.token("ana", Role::seller);
  const std::string luis = t.token("luis", Role::seller);
  Client a = t.connect("dev-ana");
  a.hello(ana);
  a.send(new_customers("dev-ana", 4));
  a.out->next_as<Ack>();
  a.send(Pull{0, 0});
  CHECK(a.out->next_as<Rows>().rows.size() == 3);
  Client l = t.connect("dev-luis");
  l.hello(luis);
  l.send(Pull{0, 0});
  CHECK(l.out->next_as<Rows>().rows.empty());
  CHECK(t.service().stats().pages_shared == 0);
}

TEST_CASE("service: the write-ahead log is copied back as the server runs, and stays small",
          "[service][storage]") {
  ServiceCase t([](SyncServiceOptions& options) { options.max_messages_per_second = 0; });
  Client writer = t.connect("dev1");
  writer.hello(t.token("ana"));
  // About 12 MB of notes on 500 customers in 300 pushes: a log that kept everything would
  // hold all of it.
  std::uint64_t seq = 0;
  Push customers;
  for (int i = 0; i < 500; ++i) {
    append(customers, new_customer(seq, "dev1", "c" + std::to_string(i),
                                   "Cliente " + std::to_string(i), kNow - 200'000));
  }
  writer.send(customers);
  REQUIRE(writer.out->next_as<Ack>().upto == seq);
  const std::string notes(2'000, 'n');
  for (int push = 0; push < 300; ++push) {
    Push batch;
    for (int i = 0; i < 20; ++i) {
      ++seq;
      batch.changes.push_back(pushed(seq, "dev1", "c" + std::to_string(seq % 500), "notes",
                                     Value(notes + std::to_string(seq)), kNow - 100'000 + seq));
    }
    writer.send(batch);
    REQUIRE(writer.out->next_as<Ack>().upto == seq);
  }
  const auto wal = std::filesystem::path(t.db_file().string() + "-wal");
  REQUIRE(std::filesystem::exists(wal));
  // Pushes came without a pause, and still the log was copied back and started over (a log
  // that kept everything passes 30 MB here).
  CHECK(std::filesystem::file_size(wal) < 16u * 1024 * 1024);
  CHECK(t.store().canonical_dump().find(notes + std::to_string(seq)) != std::string::npos);
}

TEST_CASE("service: the welcome is text even when it is long enough to compress",
          "[service][compression]") {
  ServiceCase t;
  // The longest user name a token may carry, repetitive: a welcome that would compress well.
  std::string user;
  while (user.size() + 7 <= 200) user += "ventas.";
  Client device = t.connect("dev1");
  CHECK(device.hello(t.token(user)).user == user);
  CHECK(device.out->compressed_frames() == 0);
}

TEST_CASE("service: a new row without every field its table requires is refused whole",
          "[service][push][required]") {
  ServiceCase t;
  Client device = t.connect("dev1");
  device.hello(t.token("ana"));
  // A customer holding only notes: no name, kind or status.
  device.send(Push{{pushed(1, "dev1", "c1", "notes", Value("llamar el lunes"), kNow - 10)}});
  Ack ack = device.out->next_as<Ack>();
  CHECK(ack.upto == 1);
  REQUIRE(ack.refused.size() == 1);
  CHECK(ack.refused[0].seq == 1);
  CHECK(ack.refused[0].code == ErrorCode::missing_field);
  CHECK(ack.refused[0].message ==
        "a new customers row needs \"kind\", \"name\", \"status\"; nothing of it was stored");
  CHECK_FALSE(ack.refused[0].current);  // not on the server: the device removes the row
  CHECK(t.store().last_seq() == 0);
  CHECK(t.service().stats().refusals == 1);
  Client fresh = t.connect("dev2");
  fresh.hello(t.token("luis"));
  fresh.send(Pull{0, 0});
  CHECK(fresh.out->next_as<Rows>().rows.empty());

  // Every change of the row is refused, and a required field set and then cleared in the
  // same push counts as missing.
  std::uint64_t seq = 1;
  Push push{new_customer(seq, "dev1", "c2", "Bar Pepe", kNow - 10)};
  push.changes.push_back(pushed(++seq, "dev1", "c2", "name", Value(), kNow - 9));
  push.changes.push_back(pushed(++seq, "dev1", "c2", "city", Value("Vigo"), kNow - 9));
  // A contact without its name, of a customer that is complete.
  append(push, new_customer(seq, "dev1", "c3", "Casa Luis", kNow - 10));
  push.changes.push_back(
      pushed_to(++seq, "dev1", tables::contacts, "r1", "customer_id", Value("c3"), kNow - 10));
  push.changes.push_back(
      pushed_to(++seq, "dev1", tables::contacts, "r1", "phone", Value("981000000"), kNow - 10));
  device.send(push);
  ack = device.out->next_as<Ack>();
  CHECK(ack.upto == seq);
  std::map<std::string, int> refused_of_row;
  for (const auto& refused : ack.refused) {
    CHECK(refused.code == ErrorCode::missing_field);
    ++refused_of_row[refused.row];
  }
  CHECK(refused_of_row == std::map<std::string, int>{{"c2", 5}, {"r1", 2}});
  CHECK(ack.refused.back().message ==
        "a new contacts row needs \"name\"; nothing of it was stored");
  fresh.send(Pull{0, 0});
  const Rows rows = fresh.out->next_as<Rows>();
  REQUIRE(rows.rows.size() == 1);
  CHECK(rows.rows[0].id == "c3");
  const std::string dump = t.store().canonical_dump();
  CHECK(dump.find("r1") == std::string::npos);
  CHECK(dump.find("Bar Pepe") == std::string::npos);
}

TEST_CASE("service: a seller's new customer without its required fields is refused with its rows",
          "[service][push][required][scope]") {
  ServiceCase t;
  Client laptop = t.connect("ana-laptop");
  laptop.hello(t.token("ana", Role::seller));
  std::uint64_t seq = 0;
  Push push{{pushed(++seq, "ana-laptop", "a1", "name", Value("Nuevo"), kNow - 10),
             pushed(++seq, "ana-laptop", "a1", "kind", Value("person"), kNow - 10)}};
  append(push, new_contact(seq, "ana-laptop", "a1-rep", "a1", "Rep", kNow - 10));
  laptop.send(push);
  const Ack ack = laptop.out->next_as<Ack>();
  REQUIRE(ack.refused.size() == 4);
  CHECK(ack.refused[0].code == ErrorCode::missing_field);
  CHECK(ack.refused[0].message == "a new customers row needs \"status\"; nothing of it was stored");
  CHECK(ack.refused[1].code == ErrorCode::missing_field);
  // The contact is whole, but its customer is not there to be hers.
  CHECK(ack.refused[2].code == ErrorCode::forbidden);
  CHECK(ack.refused[3].code == ErrorCode::forbidden);
  CHECK(t.store().last_seq() == 0);
}

TEST_CASE("service: a change to a row the server holds needs no required field",
          "[service][push][required]") {
  ServiceCase t;
  Client device = t.connect("dev1");
  device.hello(t.token("ana"));
  std::uint64_t seq = 0;
  device.send(Push{new_customer(seq, "dev1", "c1", "Bar Pepe", kNow - 10)});
  REQUIRE(device.out->next_as<Ack>().refused.empty());
  device.send(Push{{pushed(++seq, "dev1", "c1", "notes", Value("buen pagador"), kNow - 9)}});
  CHECK(device.out->next_as<Ack>().refused.empty());
  CHECK(t.store().canonical_dump().find("buen pagador") != std::string::npos);

  // A batch sent again after a lost ack is skipped up to what the server holds, and not
  // judged again.
  device.send(Push{{pushed(2, "dev1", "c9", "notes", Value("otra vez"), kNow - 8)}});
  const Ack again = device.out->next_as<Ack>();
  CHECK(again.refused.empty());
  CHECK(t.store().canonical_dump().find("otra vez") == std::string::npos);

  // A row created by an earlier push is held by the next one, also when both are applied in
  // one group commit: pushes queued while the writer waits are applied together.
  {
    // Holding the store's write transaction keeps the writer from taking pushes.
    auto busy = t.store().begin_write();
    device.send(Push{{pushed(++seq, "dev1", "c1", "city", Value("Vigo"), kNow - 8)}});
    device.send(Push{new_customer(seq, "dev1", "c2", "Casa Luis", kNow - 7)});
    device.send(Push{{pushed(++seq, "dev1", "c2", "city", Value("Lugo"), kNow - 6)}});
  }
  for (int i = 0; i < 3; ++i) CHECK(device.out->next_as<Ack>().refused.empty());
  CHECK(t.store().canonical_dump().find("Lugo") != std::string::npos);
}
