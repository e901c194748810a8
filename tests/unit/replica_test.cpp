// The replica core: typed and generic writes, validation, the change log, durability
// across a killed process, and merging remote changes.
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <map>

#include "libreta/client/replica.hpp"
#include "support/temp_dir.hpp"

using namespace libreta;
using namespace libreta::client;

namespace {

class ReplicaCase {
 public:
  explicit ReplicaCase(std::string replica_id = "r-local")
      : clock_(std::make_shared<FakeClock>(1'700'000'000'000)) {
    ReplicaOptions options;
    options.clock = clock_;
    options.new_replica_id = std::move(replica_id);
    replica_ = Replica::open(dir_.file("book.db"), options);
  }
  Replica& replica() { return *replica_; }
  FakeClock& clock() { return *clock_; }
  const test::TempDir& dir() const { return dir_; }
  void reopen() {
    replica_.reset();
    ReplicaOptions options;
    options.clock = clock_;
    replica_ = Replica::open(dir_.file("book.db"), options);
  }

  std::string add_customer(const std::string& name = "Ferretería Peña S.L.") {
    Customer c;
    c.name = name;
    c.kind = "company";
    c.status = "active";
    c.city = "Sevilla";
    return replica_->create(c);
  }

 private:
  test::TempDir dir_;
  std::shared_ptr<FakeClock> clock_;
  std::unique_ptr<Replica> replica_;
};

Customer full_customer() {
  Customer c;
  c.kind = "company";
  c.name = "Distribuciones Núñez y Peña S.L.";
  c.trade_name = "Núñez Distribución";
  c.tax_id = "B12345678";
  c.fiscal_regime = "régimen general";
  c.billing_address = "Calle Mayor 12, 3º B, 41001 Sevilla";
  c.shipping_address = "Polígono Store 4, 41016 Sevilla";
  c.postal_code = "41001";
  c.city = "Sevilla";
  c.region = "Andalucía";
  c.country = "España";
  c.phone = "+34 954 123 456";
  c.mobile = "+34 612 345 678";
  c.email = "info@nunezpena.es";
  c.website = "https://nunezpena.es";
  c.status = "active";
  c.relationship = "regular";
  c.segment = "A";
  c.quality_rank = 2;
  c.owner = "seller-07";
  c.territory = "Sur";
  c.annual_revenue = 125000.50;
  c.purchase_potential = "alto";
  c.socioeconomic_level = "B";
  c.products_services = "tornillería, herramienta eléctrica";
  c.tags = {"pago-60d", "vip"};
  c.notes = "Prefiere visitas los martes por la mañana.";
  c.anniversary = "2015-03-01";
  c.created_at = "2015-03-01T09:00:00Z";
  c.updated_at = "2024-01-10T12:30:00Z";
  return c;
}

}  // namespace

TEST_CASE("replica: a customer with every field round-trips through create and read",
          "[replica][crud]") {
  ReplicaCase t;
  Customer written = full_customer();
  const std::string id = t.replica().create(written);
  written.id = id;
  auto read = t.replica().customer(id);
  REQUIRE(read);
  CHECK(to_record(*read) == to_record(written));
  CHECK(read->id == id);
}

TEST_CASE("replica: contacts, interactions, purchases and follow-ups round-trip and update",
          "[replica][crud]") {
  ReplicaCase t;
  const std::string customer = t.add_customer();

  Contact contact;
  contact.customer_id = customer;
  contact.name = "José Martínez";
  contact.role = "Compras";
  contact.mobile = "+34 600 111 222";
  contact.email = "jose@pena.es";
  contact.social = "linkedin.com/in/josemartinez";
  contact.birthday = "1980-05-17";
  contact.personal_notes = "Dos hijos; le gusta el pádel";
  contact.id = t.replica().create(contact);
  CHECK(to_record(*t.replica().contact(contact.id)) == to_record(contact));

  Interaction lost;
  lost.customer_id = customer;
  lost.contact_id = contact.id;
  lost.type = "quote";
  lost.date = "2024-03-01T10:00:00Z";
  lost.outcome = "lost";
  lost.lost_reason = "precio";
  lost.revisit_on = "2024-09-01";
  lost.amount = 3400.0;
  lost.id = t.replica().create(lost);
  CHECK(to_record(*t.replica().interaction(lost.id)) == to_record(lost));

  Purchase purchase;
  purchase.customer_id = customer;
  purchase.date = "2024-02-10";
  purchase.product = "Taladro percutor";
  purchase.quantity = 3;
  purchase.amount = 389.70;
  purchase.id = t.replica().create(purchase);
  CHECK(to_record(*t.replica().purchase(purchase.id)) == to_record(purchase));

  FollowUp followup;
  followup.customer_id = customer;
  followup.due = "2024-03-15";
  followup.title = "Llamar para revisar la oferta";
  followup.id = t.replica().create(followup);
  CHECK(to_record(*t.replica().followup(followup.id)) == to_record(followup));

  // Typed updates write only what differs, and clear what the struct leaves unset.
  followup.done = true;
  followup.done_at = "2024-03-14T18:00:00Z";
  CHECK(t.replica().update(followup) == 2);
  CHECK(t.replica().followup(followup.id)->done);
  contact.role.reset();
  CHECK(t.replica().update(contact) == 1);
  CHECK_FALSE(t.replica().contact(contact.id)->role);

  t.replica().remove(tables::purchases, purchase.id);
  CHECK_FALSE(t.replica().purchase(purchase.id));
  CHECK_THROWS_AS(t.replica().remove(tables::purchases, purchase.id), Error);
}

TEST_CASE("replica: invalid values are refused with a clear error and change nothing",
          "[replica][validation]") {
  ReplicaCase t;
  const std::string id = t.add_customer();
  const std::string dump_before = t.replica().canonical_dump();
  const std::size_t pending_before = t.replica().pending_count();

  auto refused = [&](std::string_view table, const Record& fields, ErrorCode code,
                     const std::string& words) {
    try {
      t.replica().update(table, id, fields);
      FAIL("accepted " << words);
    } catch (const Error& e) {
      CHECK(e.code() == code);
      CHECK_THAT(e.what(), Catch::Contains(words));
    }
  };
  refused(tables::customers, {{"status", Value("dormido")}}, ErrorCode::invalid_value,
          "prospect, active, occasional, inactive, lost");
  refused(tables::customers, {{"birthday", Value("2023-02-29")}}, ErrorCode::invalid_value,
          "not a YYYY-MM-DD date");
  refused(tables::customers, {{"email", Value("no-at-sign")}}, ErrorCode::invalid_value,
          "not an email");
  refused(tables::customers, {{"annual_revenue", Value("mucho")}}, ErrorCode::wrong_type,
          "expects number");
  refused(tables::customers, {{"colour", Value("red")}}, ErrorCode::unknown_field, "colour");
  refused(tables::customers, {{"name", Value()}}, ErrorCode::invalid_value, "cannot be cleared");
  // A batch with one bad field changes none of the good ones either.
  refused(tables::customers, {{"city", Value("Cádiz")}, {"segment", Value("Z")}},
          ErrorCode::invalid_value, "segment");

  Contact orphan;
  orphan.customer_id = "no-such-customer";
  orphan.name = "Nadie";
  CHECK_THROWS_MATCHES(t.replica().create(orphan), Error,
                       Catch::Matchers::Predicate<Error>(
                           [](const Error& e) { return e.code() == ErrorCode::not_found; }));
  Purchase incomplete;
  incomplete.customer_id = id;
  incomplete.amount = 10;
  CHECK_THROWS_MATCHES(t.replica().create(incomplete), Error,
                       Catch::Matchers::Predicate<Error>(
                           [](const Error& e) { return e.code() == ErrorCode::missing_field; }));
  CHECK_THROWS_AS(t.replica().update(tables::customers, "missing", {{"city", Value("Cádiz")}}),
                  Error);

  CHECK(t.replica().canonical_dump() == dump_before);
  CHECK(t.replica().pending_count() == pending_before);
}

TEST_CASE("replica: the change log holds one entry per changed field, with its base version",
          "[replica][outbox]") {
  ReplicaCase t;
  Customer c;
  c.name = "Bodegas Ruiz";
  c.status = "prospect";
  c.created_at = "2024-01-01T00:00:00Z";
  c.tags = {"vino"};
  const std::string id = t.replica().create(c);

  auto created = t.replica().pending_changes();
  // kind, name, status, created_at, and the tag as its own element change.
  REQUIRE(created.size() == 5);
  const Version creation = created.front().change.version;
  for (const auto& entry : created) {
    CHECK(entry.change.row == id);
    CHECK(entry.change.version == creation);
    CHECK(entry.change.base.is_none());
  }
  t.replica().acknowledge(created.back().seq);
  CHECK(t.replica().pending_count() == 0);

  t.clock().advance(std::chrono::seconds(1));
  CHECK(t.replica().update(tables::customers, id,
                           {{"status", Value("active")},
                            {"city", Value("Logroño")},
                            {"name", Value("Bodegas Ruiz")}}) == 2);
  auto edits = t.replica().pending_changes();
  REQUIRE(edits.size() == 2);
  CHECK(edits[0].change.field == "city");
  CHECK(edits[0].change.base.is_none());
  CHECK(edits[1].change.field == "status");
  CHECK(edits[1].change.base == creation);
  CHECK(edits[1].change.value == Value("active"));
  CHECK(edits[0].change.version > creation);

  SECTION("a no-op update writes nothing") {
    CHECK(t.replica().update(tables::customers, id, {{"status", Value(" active ")}}) == 0);
    CHECK(t.replica().pending_count() == 2);
  }
  SECTION("repeated offline edits of one field coalesce, keeping the first base") {
    t.replica().update(tables::customers, id, {{"status", Value("occasional")}});
    t.replica().update(tables::customers, id, {{"status", Value("inactive")}});
    auto coalesced = t.replica().pending_changes();
    REQUIRE(coalesced.size() == 2);
    CHECK(coalesced[1].change.field == "status");
    CHECK(coalesced[1].change.value == Value("inactive"));
    CHECK(coalesced[1].change.base == creation);
  }
  SECTION("tags change one element at a time; a delete is a versioned field") {
    t.replica().acknowledge(edits.back().seq);
    CHECK(t.replica().add_tag(tables::customers, id, "tags", "vip"));
    CHECK_FALSE(t.replica().add_tag(tables::customers, id, "tags", "vip"));
    CHECK(t.replica().remove_tag(tables::customers, id, "tags", "vino"));
    auto tags = t.replica().pending_changes();
    REQUIRE(tags.size() == 2);
    CHECK(tags[0].change.element == "vip");
    CHECK(tags[0].change.value == Value(true));
    CHECK(tags[1].change.element == "vino");
    CHECK(tags[1].change.value == Value(false));
    CHECK(tags[1].change.base == creation);  // the add it removes
    CHECK(t.replica().customer(id)->tags == TagSet{"vip"});

    t.replica().remove(tables::customers, id);
    auto all = t.replica().pending_changes();
    CHECK(all.back().change.field == kDeletedField);
    CHECK(all.back().change.value == Value(true));
    CHECK_FALSE(t.replica().customer(id));
  }
}

TEST_CASE("replica: a deleted row is restored with its fields, and searchable again",
          "[replica][outbox]") {
  ReplicaCase t;
  const std::string id = t.add_customer("Cerrajería Peña");
  t.replica().acknowledge(t.replica().pending_changes().back().seq);
  t.replica().remove(tables::customers, id);
  CHECK_FALSE(t.replica().customer(id));
  CHECK(t.replica().search("cerrajeria").empty());
  CHECK_THROWS_AS(t.replica().update(tables::customers, id, {{"city", Value("Soria")}}), Error);

  t.replica().restore(tables::customers, id);
  const auto restored = t.replica().customer(id);
  REQUIRE(restored);
  CHECK(restored->city == "Sevilla");
  CHECK(t.replica().search("cerrajeria").size() == 1);
  // The server hears that the row is live: the last change of "deleted" says false.
  const auto pending = t.replica().pending_changes();
  REQUIRE_FALSE(pending.empty());
  CHECK(pending.back().change.field == "deleted");
  CHECK(pending.back().change.value == Value(false));

  try {
    t.replica().restore(tables::customers, id);
    FAIL("a live row was restored");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::not_found);
  }
}

TEST_CASE("replica: a push never splits a row, so a new customer goes out with its required fields",
          "[replica][outbox]") {
  ReplicaCase t;
  const std::string before = t.add_customer("Antes S.L.");
  const std::string customer = t.add_customer("Bodegas Ruiz");
  // Over a thousand other changes, then the new customer's name again: its entry moves to
  // the end of the change log, far from the customer's kind and status.
  std::vector<std::string> others;
  for (int i = 0; i < 300; ++i) others.push_back(t.add_customer("Cliente " + std::to_string(i)));
  REQUIRE(t.replica().pending_count() > 1'000 + 8);
  t.replica().update(tables::customers, customer, {{"name", Value("Bodegas Ruiz e Hijos")}});
  const std::size_t total = t.replica().pending_count();

  // Push by push as the sync session does: the next batch, then the ack of its last change.
  std::map<std::string, int> push_of_row;
  std::vector<std::vector<OutboxEntry>> pushes;
  std::uint64_t acked = 0;
  while (t.replica().pending_count() > 0) {
    auto batch = t.replica().pending_changes(1'000);
    REQUIRE_FALSE(batch.empty());
    CHECK(batch.front().seq > acked);
    for (const auto& entry : batch) {
      // Every change of a row goes out in one push.
      const int push = static_cast<int>(pushes.size());
      CHECK(push_of_row.try_emplace(entry.change.row, push).first->second == push);
    }
    acked = batch.back().seq;
    t.replica().acknowledge(acked);
    pushes.push_back(std::move(batch));
  }
  std::size_t sent = 0;
  for (const auto& push : pushes) sent += push.size();
  CHECK(sent == total);

  // The first push stops before the new customer, which would not fit in it whole...
  REQUIRE(pushes.size() >= 2);
  CHECK(push_of_row.at(before) == 0);
  CHECK(push_of_row.at(customer) == 1);
  CHECK(pushes[0].size() < 1'000);
  // ...and the push that carries it carries its name, kind and status, past the batch size
  // when that is what keeping it whole takes.
  std::map<std::string, Value> fields;
  for (const auto& entry : pushes[1]) {
    if (entry.change.row == customer) fields[entry.change.field] = entry.change.value;
  }
  CHECK(fields["name"] == Value("Bodegas Ruiz e Hijos"));
  CHECK(fields["kind"] == Value("company"));
  CHECK(fields["status"] == Value("active"));
  CHECK(pushes[1].size() == total - pushes[0].size());
  CHECK(push_of_row.at(others.back()) == 1);
}

TEST_CASE(
    "replica: pushes of whole rows fill the batch size, and cut before a row that would "
    "not fit",
    "[replica][outbox]") {
  ReplicaCase t;
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(t.add_customer("Cliente " + std::to_string(i)));
  // Five changes each (kind, name, status, city, created_at): batches of 12 take two whole
  // customers.
  REQUIRE(t.replica().pending_count() == 50);
  auto first = t.replica().pending_changes(12);
  REQUIRE(first.size() == 10);
  CHECK(first.back().change.row == ids[1]);
  // An edit of the first customer moves one of its entries to the end: the first batch
  // that holds it whole is the whole log, however short the batch size.
  t.replica().update(tables::customers, ids[0], {{"city", Value("Lugo")}});
  CHECK(t.replica().pending_changes(12).size() == 50);
  CHECK(t.replica().pending_changes(3).size() == 50);
  // The whole log when it is shorter than the batch.
  CHECK(t.replica().pending_changes(1'000).size() == 50);
  CHECK(t.replica().pending_changes(0).empty());
}

TEST_CASE("replica: a write committed before the process is killed is there after reopening",
          "[replica][durability]") {
  test::TempDir dir;
  const auto file = dir.file("book.db");
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    auto replica = Replica::open(file);
    Customer c;
    c.name = "Cerámicas Ibáñez";
    std::string id = replica->create(c);
    replica->update(tables::customers, id, {{"city", Value("Castellón")}});
    id += '\n';
    // Tell the parent the write is committed, then wait to be killed.
    if (::write(pipe_fds[1], id.data(), id.size()) != static_cast<ssize_t>(id.size())) _exit(2);
    for (;;) ::pause();
  }
  ::close(pipe_fds[1]);
  std::string id;
  char c;
  while (::read(pipe_fds[0], &c, 1) == 1 && c != '\n') id += c;
  ::close(pipe_fds[0]);
  REQUIRE(::kill(child, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));

  auto replica = Replica::open(file);
  auto customer = replica->customer(id);
  REQUIRE(customer);
  CHECK(customer->name == "Cerámicas Ibáñez");
  CHECK(customer->city == "Castellón");
  CHECK(replica->pending_count() == 5);  // kind, name, status, created_at, city
}

TEST_CASE("replica: reopening keeps the replica id and clock; a newer file is refused",
          "[replica][migration]") {
  ReplicaCase t("r-first");
  t.add_customer();
  const Hlc issued = t.replica().clock().last();
  t.clock().set(1'600'000'000'000);  // the device clock went back in time
  t.reopen();
  CHECK(t.replica().replica_id() == "r-first");
  CHECK(t.replica().schema_version() == kCustomerBookSchemaVersion);
  const std::string id = t.add_customer("Otra");
  auto entries = t.replica().pending_changes();
  CHECK(entries.back().change.version.hlc > issued);

  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(t.dir().file("book.db").c_str(), &db) == SQLITE_OK);
    sqlite3_exec(db, "UPDATE _meta SET value = '99' WHERE key = 'file_version'", nullptr, nullptr,
                 nullptr);
    sqlite3_close(db);
  }
  CHECK_THROWS_MATCHES(t.reopen(), Error, Catch::Matchers::Predicate<Error>([](const Error& e) {
                         return e.code() == ErrorCode::schema_too_new;
                       }));
}
