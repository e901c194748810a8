// Hostile devices against the sync service (docs/security.md, "What a device cannot do"):
// forged replica ids, back-dated and future versions, rows grown without bound, one token
// flooding the writer; and what every device is owed: the conflicts it lost, an answer to
// every push, the server's state of a refused field, a log line for every refusal.
#include <mutex>

#include "server/service_harness.hpp"

using namespace libreta;
using namespace libreta::server;
using namespace libreta::server::testing;

namespace {

// The log lines the service writes, kept for the test.
struct LogLines {
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<std::string>> lines = std::make_shared<std::vector<std::string>>();

  // A log (logfmt, every level) writing here.
  std::shared_ptr<Log> sink() {
    return std::make_shared<Log>(LogFormat::logfmt, LogLevel::debug,
                                 [mutex = mutex, lines = lines](std::string_view line) {
                                   std::lock_guard lock(*mutex);
                                   lines->emplace_back(line);
                                 });
  }
  bool has(std::initializer_list<std::string_view> parts) const {
    std::lock_guard lock(*mutex);
    for (const auto& line : *lines) {
      bool all = true;
      for (auto part : parts) all = all && line.find(part) != std::string::npos;
      if (all) return true;
    }
    return false;
  }
};

// A tag change (add or remove one element of a tag set) to a customer.
PushedChange tag_change(std::uint64_t seq, const std::string& replica, const std::string& row,
                        const std::string& tag, bool add, std::uint64_t millis, Version base = {}) {
  return {seq, Change{tables::customers, row, "tags", tag, Value(add),
                      Version{Hlc::from_parts(millis, 0), replica}, std::move(base)}};
}

// A manager's office with Ana's customer a1 (and its contact), as in the scope tests.
struct Office {
  LogLines log;
  ServiceCase t{[this](SyncServiceOptions& o) { o.log = log.sink(); }};
  Client manager = t.connect("office");
  std::string ana_token = t.token("ana", Role::seller);
  std::string luis_token = t.token("luis", Role::seller);
  std::uint64_t seq = 0;

  Office() {
    manager.hello(t.token("marta", Role::manager));
    Push push{new_customer(seq, "office", "a1", "Cliente a1", kNow - 100)};
    push.changes.push_back(pushed(++seq, "office", "a1", "owner", Value("ana"), kNow - 100));
    push.changes.push_back(
        pushed(++seq, "office", "a1", "notes", Value("buen pagador"), kNow - 100));
    manager.send(push);
    REQUIRE(manager.out->next_as<Ack>().refused.empty());
  }
  Client seller(const std::string& replica, const std::string& token) {
    Client client = t.connect(replica);
    client.hello(token);
    return client;
  }
  // The office gives a1 to Luis, dated by the manager's device.
  void give_a1_to_luis(std::uint64_t millis) {
    manager.send(Push{{pushed(++seq, "office", "a1", "owner", Value("luis"), millis)}});
    REQUIRE(manager.out->next_as<Ack>().refused.empty());
  }
};

}  // namespace

TEST_CASE("hostile: a replica id belongs to the user who first used it", "[hostile][auth]") {
  Office office;
  // Ana learns the office device's id from a row version and says hello with it.
  Client forger = office.t.connect("office");
  forger.send(Hello{kProtocolVersion, kCustomerBookSchemaVersion, "office", office.ana_token});
  const auto refused = forger.out->next_as<ProtocolError>();
  CHECK(refused.code == ErrorCode::forbidden);
  CHECK(refused.fatal);
  CHECK(refused.message.find("another user") != std::string::npos);
  CHECK(forger.out->closed());
  CHECK(office.log.has({"hello_refused", "user=ana", "replica=office", "another user"}));
  // Her push with a huge sequence never reaches the writer: the office's acknowledged
  // sequence is what its device really pushed, and its next edit is stored.
  forger.send(Push{{pushed(kMaxWireSequence, "office", "a1", "notes", Value("x"), kNow)}});
  CHECK(office.t.store().acked("office") == 5);
  office.manager.send(Push{{pushed(6, "office", "a1", "city", Value("Vigo"), kNow - 50)}});
  CHECK(office.manager.out->next_as<Ack>().upto == 6);
  CHECK(office.t.store().acked("office") == 6);
}

TEST_CASE("hostile: two users' first hellos with one new id: the first claim keeps it",
          "[hostile][auth]") {
  Office office;
  // Both hellos pass before the writer records either claim.
  std::optional<Client> ana, luis;
  {
    auto busy = office.t.store().begin_write();
    ana.emplace(office.seller("tablet", office.ana_token));
    luis.emplace(office.seller("tablet", office.luis_token));
  }
  // Luis's connection replaced nothing of Ana's (another token); his push is refused and
  // his connection closed, and Ana's device keeps working under its id.
  luis->send(Push{{pushed(1, "tablet", "l9", "name", Value("L"), kNow - 10)}});
  const auto refused = luis->out->next_as<ProtocolError>();
  CHECK(refused.code == ErrorCode::forbidden);
  CHECK(refused.fatal);
  ana->send(Push{{pushed(1, "tablet", "a1", "notes", Value("ok"), kNow - 10)}});
  CHECK(ana->out->next_as<Ack>().refused.empty());
  CHECK(office.t.store().replica("tablet")->user == "ana");
}

TEST_CASE("hostile: the reassignment rule does not depend on the device's clock",
          "[hostile][scope][reassign]") {
  Office office;
  Client luis = office.seller("luis-phone", office.luis_token);
  pull_all(luis);
  // Ana's laptop has its book, and is live when the office gives a1 to Luis.
  Client laptop = office.seller("ana-laptop", office.ana_token);
  pull_all(laptop);
  const std::uint64_t reassigned_at = kNow - 30;
  office.give_a1_to_luis(reassigned_at);
  const Rows gone = laptop.out->next_as<Rows>();
  REQUIRE(gone.evicted.size() == 1);
  // Its next pull says it applied the eviction.
  laptop.send(Pull{gone.after, gone.after});
  CHECK(laptop.out->next_as<Rows>().rows.empty());
  const Rows arrived = luis.out->next_as<Rows>();
  REQUIRE_FALSE(arrived.rows.empty());
  const std::string before = office.t.store().canonical_dump_of_scope("luis");

  // Her device knows. Edits dated 1970, or 200 ms before the reassignment, are refused
  // all the same: a delete, an overwrite and a planted interaction.
  Push forged;
  forged.changes.push_back(pushed(1, "ana-laptop", "a1", "deleted", Value(true), 1));
  forged.changes.push_back(
      pushed(2, "ana-laptop", "a1", "notes", Value("moroso"), reassigned_at - 200));
  forged.changes.push_back(pushed_to(3, "ana-laptop", tables::interactions, "i-planted",
                                     "customer_id", Value("a1"), reassigned_at - 200));
  forged.changes.push_back(pushed_to(4, "ana-laptop", tables::interactions, "i-planted", "type",
                                     Value("complaint"), reassigned_at - 200));
  forged.changes.push_back(pushed_to(5, "ana-laptop", tables::interactions, "i-planted", "date",
                                     Value("2023-11-14T10:00:00Z"), reassigned_at - 200));
  laptop.send(forged);
  const Ack ack = laptop.out->next_as<Ack>();
  REQUIRE(ack.refused.size() == 5);
  for (const auto& refused : ack.refused) CHECK(refused.code == ErrorCode::forbidden);
  CHECK(office.t.store().canonical_dump_of_scope("luis") == before);
  CHECK(office.log.has({"event=refused", "user=ana", "replica=ana-laptop", "table=customers"}));

  // A device id she makes up after the reassignment never had a1: refused too.
  Client fresh = office.seller("ana-new", office.ana_token);
  fresh.send(Push{{pushed(1, "ana-new", "a1", "notes", Value("moroso"), 1)}});
  CHECK(fresh.out->next_as<Ack>().refused.size() == 1);
  CHECK(office.t.store().canonical_dump_of_scope("luis") == before);
}

TEST_CASE(
    "hostile: an offline device's edits to a customer taken from it are kept until it is "
    "told",
    "[hostile][scope][reassign]") {
  Office office;
  {
    // Ana's desktop pulls its book, then goes offline.
    Client desktop = office.seller("ana-desktop", office.ana_token);
    pull_all(desktop);
  }
  office.give_a1_to_luis(kNow - 30);
  // Back online, it pushes what it wrote offline (whatever its clock said): accepted, it
  // could not have known. Then it pulls, is told, and its next edit is refused.
  Client desktop = office.seller("ana-desktop", office.ana_token);
  desktop.send(Push{{pushed(1, "ana-desktop", "a1", "phone", Value("981000000"), kNow - 10)}});
  CHECK(desktop.out->next_as<Ack>().refused.empty());
  const Rows told = pull_all(desktop, 1);
  REQUIRE(told.evicted.size() == 1);
  desktop.send(Pull{told.after, told.after});  // it applied the eviction
  desktop.out->next_as<Rows>();
  desktop.send(Push{{pushed(2, "ana-desktop", "a1", "phone", Value("600000000"), kNow - 60)}});
  const Ack after = desktop.out->next_as<Ack>();
  REQUIRE(after.refused.size() == 1);
  CHECK(after.refused[0].message.find("had been told") != std::string::npos);
}

TEST_CASE("hostile: a device cannot keep writing a customer it lost by never saying it knows",
          "[hostile][scope][reassign]") {
  auto clock = std::make_shared<FakeClock>(kNow);
  ServiceCase t([&](SyncServiceOptions& o) { o.clock = clock; });
  Client office = t.connect("office");
  office.hello(t.token("marta"));
  std::uint64_t seq = 0;
  Push created{new_customer(seq, "office", "a1", "Cliente a1", kNow - 100)};
  created.changes.push_back(pushed(++seq, "office", "a1", "owner", Value("ana"), kNow - 100));
  office.send(created);
  office.out->next_as<Ack>();
  Client laptop = t.connect("ana-laptop");
  laptop.hello(t.token("ana", Role::seller));
  pull_all(laptop);
  office.send(Push{{pushed(++seq, "office", "a1", "owner", Value("luis"), kNow - 30)}});
  office.out->next_as<Ack>();
  REQUIRE(laptop.out->next_as<Rows>().evicted.size() == 1);
  // The device never pulls again, and pushes: at once, it may not have had the eviction.
  laptop.send(Push{{pushed(1, "ana-laptop", "a1", "notes", Value("uno"), kNow - 40)}});
  CHECK(laptop.out->next_as<Ack>().refused.empty());
  // Once it has had time to receive it, its writes are refused; on its next connection too.
  clock->advance(std::chrono::seconds(31));
  laptop.send(Push{{pushed(2, "ana-laptop", "a1", "notes", Value("dos"), kNow - 40)}});
  CHECK(laptop.out->next_as<Ack>().refused.size() == 1);
  { Client gone = std::move(laptop); }
  Client again = t.connect("ana-laptop");
  again.hello(t.token("ana", Role::seller));
  again.send(Push{{pushed(3, "ana-laptop", "a1", "notes", Value("tres"), kNow - 40)}});
  CHECK(again.out->next_as<Ack>().refused.size() == 1);
}

TEST_CASE("hostile: a base dated beyond the skew limit, or newer than its change, is refused",
          "[hostile][clock]") {
  ServiceCase t;
  Client device = t.connect("dev1");
  device.hello(t.token("marta"));
  const Version year_2100{Hlc::from_parts(4'102'444'800'000ULL, 0), "dev9"};
  std::uint64_t seq = 0;
  Push push{new_customer(seq, "dev1", "c1", "Bar", kNow - 10)};
  push.changes.push_back(tag_change(4, "dev1", "c1", "vip", false, kNow - 5, year_2100));
  push.changes.push_back(pushed(5, "dev1", "c1", "city", Value("Vigo"), kNow - 5,
                                Version{Hlc::from_parts(kNow - 1, 0), "dev9"}));
  device.send(push);
  const Ack ack = device.out->next_as<Ack>();
  REQUIRE(ack.refused.size() == 2);
  CHECK(ack.refused[0].code == ErrorCode::clock_skew);
  CHECK(ack.refused[1].code == ErrorCode::invalid_value);
  // Nothing dated 2100 is stored: every device can still download the row, and the tag can
  // be set again.
  CHECK(t.store().canonical_dump().find(year_2100.to_string()) == std::string::npos);
  device.send(Push{{tag_change(6, "dev1", "c1", "vip", true, kNow - 4)}});
  CHECK(device.out->next_as<Ack>().refused.empty());
  Client fresh = t.connect("dev2");
  fresh.hello(t.token("luis"));
  const Rows rows = pull_all(fresh);
  REQUIRE(rows.rows.size() == 1);
  CHECK_FALSE(rows.rows[0].versions.field("tags+vip").is_none());
}

TEST_CASE("hostile: unknown fields and tags are kept, within bounds per row", "[hostile][limits]") {
  ServiceCase t;
  Client device = t.connect("dev1");
  device.hello(t.token("marta"));
  // Twelve pushes of many large unknown fields into one customer.
  std::uint64_t seq = 0;
  std::size_t refused = 0;
  for (int push_index = 0; push_index < 12; ++push_index) {
    Push push;
    if (seq == 0) append(push, new_customer(seq, "dev1", "c1", "Bar", kNow - 10));
    for (int i = 0; i < 40; ++i) {
      push.changes.push_back(pushed(++seq, "dev1", "c1",
                                    "x_" + std::to_string(push_index) + "_" + std::to_string(i),
                                    Value(std::string(20'000, 'z')), kNow - 10));
    }
    device.send(push);
    const Ack ack = device.out->next_as<Ack>();
    for (const auto& r : ack.refused) CHECK(r.code == ErrorCode::too_large);
    refused += ack.refused.size();
  }
  CHECK(refused == 12 * 40 - 3);  // 3 fields of 20 KB fit in 64 KiB
  // The stored row stays small enough for every device: a fresh one downloads it.
  CHECK(t.store().canonical_dump().size() < 100'000);
  Client fresh = t.connect("dev2");
  fresh.hello(t.token("luis"));
  CHECK(pull_all(fresh).rows.size() == 1);

  // Unknown fields of small values: at most kMaxUnknownFieldsPerRow.
  Push many{new_customer(seq, "dev1", "c2", "Casa", kNow - 9)};
  for (int i = 0; i < 40; ++i)
    many.changes.push_back(
        pushed(++seq, "dev1", "c2", "y" + std::to_string(i), Value(1.0), kNow - 9));
  device.send(many);
  CHECK(device.out->next_as<Ack>().refused.size() == 40 - kMaxUnknownFieldsPerRow);

  // Tags added and removed leave keys behind: a row holds at most kMaxKeysPerRow, its three
  // fields included.
  Push tags{new_customer(seq, "dev1", "c3", "Bodega", kNow - 8)};
  for (std::size_t i = 0; i < kMaxKeysPerRow + 10; ++i)
    tags.changes.push_back(
        tag_change(++seq, "dev1", "c3", "t" + std::to_string(i), true, kNow - 8));
  device.send(tags);
  CHECK(device.out->next_as<Ack>().refused.size() == 10 + 3);
}

TEST_CASE("hostile: one token's pushes wait beside another token's, not ahead", "[hostile][fair]") {
  // One push a group commit, so that the order of commits is the order of acks.
  ServiceCase t([](SyncServiceOptions& o) { o.max_group_changes = 1; });
  // Acks of both devices in the order the service sends them.
  struct Ordered final : Outbound {
    std::shared_ptr<MemoryOutbound> inner;
    std::string name;
    std::shared_ptr<std::mutex> mutex;
    std::shared_ptr<std::vector<std::string>> order;
    void send(SharedFrame frame) override {
      {
        std::lock_guard lock(*mutex);
        order->push_back(name);
      }
      inner->send(std::move(frame));
    }
    void send_and_close(SharedFrame frame) override { inner->send_and_close(std::move(frame)); }
    void post(std::function<void()> task) override { inner->post(std::move(task)); }
  };
  auto mutex = std::make_shared<std::mutex>();
  auto order = std::make_shared<std::vector<std::string>>();
  auto connect = [&](const std::string& replica, const std::string& user) {
    Client client;
    client.replica = replica;
    auto ordered = std::make_shared<Ordered>();
    ordered->inner = client.out;
    ordered->name = user;
    ordered->mutex = mutex;
    ordered->order = order;
    client.connection = t.service().open_connection(ordered, "test");
    client.hello(t.token(user));
    std::lock_guard lock(*mutex);
    order->clear();
    return client;
  };
  Client flood = connect("flood", "ana");
  Client other = connect("other", "luis");
  {
    // The writer is held while both queue: the flooding token first, eight pushes.
    auto busy = t.store().begin_write();
    std::uint64_t flood_seq = 0, other_seq = 0;
    for (int i = 1; i <= 8; ++i)
      flood.send(Push{new_customer(flood_seq, "flood", "f" + std::to_string(i), "F", kNow - 10)});
    other.send(Push{new_customer(other_seq, "other", "o1", "O", kNow - 10)});
  }
  for (int i = 0; i < 8; ++i) flood.out->next_as<Ack>();
  other.out->next_as<Ack>();
  std::lock_guard lock(*mutex);
  REQUIRE(order->size() == 9);
  // At most the flooding token's first push (taken before the writer was held) goes first.
  const auto at = std::find(order->begin(), order->end(), "luis") - order->begin();
  CHECK(at <= 1);
}

TEST_CASE("hostile: per-token limits on pushes: size, changes waiting, changes a second",
          "[hostile][fair][limits]") {
  LogLines log;
  ServiceCase t([&](SyncServiceOptions& o) {
    o.max_push_changes = 50;
    o.max_queued_changes_per_token = 60;
    o.change_burst_per_token = 100;
    o.max_changes_per_second_per_token = 1;
    o.log = log.sink();
  });
  const std::string token = t.token("ana");
  Client one = t.connect("dev1");
  one.hello(token);
  Client two = t.connect("dev2");
  two.hello(token);
  // `count` changes from sequence `first` on: a new customer, then edits of its notes.
  auto push_of = [](const std::string& replica, std::uint64_t first, std::size_t count) {
    std::uint64_t seq = first - 1;
    const std::string row = replica + "-" + std::to_string(first);
    Push push{new_customer(seq, replica, row, "C", kNow - 100)};
    while (push.changes.size() < count) {
      ++seq;
      push.changes.push_back(
          pushed(seq, replica, row, "notes", Value("n" + std::to_string(seq)), kNow - 100 + seq));
    }
    return push;
  };
  one.send(push_of("dev1", 1, 51));
  auto too_large = one.out->next_as<ProtocolError>();
  CHECK(too_large.code == ErrorCode::too_large);
  CHECK_FALSE(too_large.fatal);
  {
    auto busy = t.store().begin_write();
    one.send(push_of("dev1", 1, 40));
    two.send(push_of("dev2", 1, 40));  // with dev1's 40 waiting: over 60 for the token
    auto waiting = two.out->next_as<ProtocolError>();
    CHECK(waiting.code == ErrorCode::rate_limited);
    CHECK_FALSE(waiting.fatal);
  }
  CHECK(one.out->next_as<Ack>().upto == 40);
  two.send(push_of("dev2", 1, 40));
  CHECK(two.out->next_as<Ack>().upto == 40);
  // 80 of the burst of 100 are spent, and it refills at one a second.
  one.send(push_of("dev1", 41, 30));
  CHECK(one.out->next_as<ProtocolError>().code == ErrorCode::rate_limited);
  CHECK(t.store().acked("dev1") == 40);
  CHECK(log.has({"event=refused", "code=rate_limited", "user=ana"}));
}

TEST_CASE("hostile: an empty push is answered with what the server holds", "[hostile]") {
  ServiceCase t;
  Client device = t.connect("dev1");
  device.hello(t.token("marta"));
  device.send(Push{});
  CHECK(device.out->next_as<Ack>().upto == 0);
  std::uint64_t seq = 4;
  device.send(Push{new_customer(seq, "dev1", "c1", "Bar", kNow - 10)});
  CHECK(device.out->next_as<Ack>().upto == 7);
  device.send(Push{});
  CHECK(device.out->next_as<Ack>().upto == 7);
}

TEST_CASE("conflicts: the device whose value lost learns of it, whoever pushed second",
          "[conflicts]") {
  ServiceCase t;
  const std::string token = t.token("marta");
  Client first = t.connect("dev1");
  first.hello(token);
  first.send(ConflictsPull{0});
  CHECK(first.out->next_as<Conflicts>().conflicts.empty());
  std::uint64_t seq = 0;
  first.send(Push{new_customer(seq, "dev1", "c1", "Bar Pepe", kNow - 100)});
  first.out->next_as<Ack>();
  pull_all(first);
  // dev2 edits the same field without having seen dev1's value, later: dev2 wins.
  Client second = t.connect("dev2");
  second.hello(t.token("luis"));
  second.send(Push{{pushed(1, "dev2", "c1", "name", Value("Casa Pepe"), kNow - 50)}});
  const Ack ack = second.out->next_as<Ack>();
  REQUIRE(ack.conflicts.size() == 1);
  CHECK(ack.conflicts[0].kept == Value("Casa Pepe"));
  // dev1, which pushed first and lost, is told live, with who kept the other value.
  Message message = first.out->next();
  while (std::holds_alternative<Rows>(message)) message = first.out->next();
  REQUIRE(std::holds_alternative<Conflicts>(message));
  const auto& lost = std::get<Conflicts>(message);
  CHECK(lost.live);
  REQUIRE(lost.conflicts.size() == 1);
  CHECK(lost.conflicts[0].lost == Value("Bar Pepe"));
  CHECK(lost.conflicts[0].kept == Value("Casa Pepe"));
  CHECK(lost.conflicts[0].kept_user == "luis");
  CHECK(lost.conflicts[0].lost_user == "marta");
  CHECK(lost.conflicts[0].kind == "concurrent_edit");
  CHECK(lost.conflicts[0].id > 0);

  // A device of dev1 that was away asks from its cursor on its next sync; once it has them,
  // nothing more.
  Client again = t.connect("dev1");
  again.hello(token);
  again.send(ConflictsPull{0});
  const auto page = again.out->next_as<Conflicts>();
  REQUIRE(page.conflicts.size() == 1);
  CHECK_FALSE(page.more);
  again.send(ConflictsPull{page.upto});
  CHECK(again.out->next_as<Conflicts>().conflicts.empty());
  // dev2 won: nothing for it.
  second.send(ConflictsPull{0});
  CHECK(second.out->next_as<Conflicts>().conflicts.empty());
}

TEST_CASE("refusals: protocol 3 carries the server's state of the refused field; 2 does not",
          "[hostile][refusals]") {
  Office office;
  Client laptop = office.seller("ana-laptop", office.ana_token);
  laptop.send(Push{{pushed(1, "ana-laptop", "a1", "owner", Value("bob"), kNow - 10)}});
  const Ack ack = laptop.out->next_as<Ack>();
  REQUIRE(ack.refused.size() == 1);
  REQUIRE(ack.refused[0].current);
  CHECK(ack.refused[0].current->fields.at("owner") == Value("ana"));
  CHECK(ack.refused[0].current->versions.field("owner") ==
        (Version{Hlc::from_parts(kNow - 100, 0), "office"}));
  // A row outside her scope: nothing of it is told.
  Client luis = office.seller("luis-phone", office.luis_token);
  luis.send(Push{{pushed(1, "luis-phone", "a1", "notes", Value("mío"), kNow - 10)}});
  const Ack outside = luis.out->next_as<Ack>();
  REQUIRE(outside.refused.size() == 1);
  CHECK_FALSE(outside.refused[0].current);
  // A protocol 2 device reads its ack as before.
  Client old = office.t.connect("ana-old");
  old.hello(office.ana_token, 2);
  old.send(Push{{pushed(1, "ana-old", "a1", "owner", Value("bob"), kNow - 10)}});
  const Ack v2 = old.out->next_as<Ack>();
  REQUIRE(v2.refused.size() == 1);
  CHECK_FALSE(v2.refused[0].current);
}
