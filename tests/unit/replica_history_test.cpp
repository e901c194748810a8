// The history of each field: the values a later change replaced, kept on local edits and on
// merges, with when, on which device and by whom; none for automatic fields, none for what
// lost a merge, a bounded number per field, and gone with a row that leaves the scope.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "libreta/client/replica.hpp"
#include "unit/replica_node.hpp"

using namespace libreta;
using namespace libreta::client;
using libreta::client::testing::Node;

namespace {

std::vector<std::string> texts(const std::vector<FieldValue>& history) {
  std::vector<std::string> out;
  for (const auto& v : history) out.push_back(v.value.is_null() ? "-" : v.value.as_text());
  return out;
}

std::string new_customer(Replica& replica, const std::string& name) {
  Customer c;
  c.name = name;
  c.status = "active";
  return replica.create(c);
}

}  // namespace

TEST_CASE("field history: local edits keep the values they replace, newest first", "[history]") {
  test::TempDir dir;
  Node node(dir, "r-ana");
  Replica& book = *node.replica;
  const auto id = new_customer(book, "Peña");
  CHECK(texts(book.field_history(tables::customers, id, "name")) ==
        std::vector<std::string>{"Peña"});
  CHECK(book.fields_with_history(tables::customers, id).empty());

  node.clock->advance(std::chrono::milliseconds(1000));
  book.update(tables::customers, id, {{"name", Value("Peña e Hijos")}, {"phone", Value("600 1")}});
  node.clock->advance(std::chrono::milliseconds(1000));
  book.update(tables::customers, id,
              {{"name", Value("Peña Hermanos")}, {"updated_at", Value("2024-06-01T10:00:00Z")}});
  node.clock->advance(std::chrono::milliseconds(1000));
  book.update(tables::customers, id,
              {{"phone", Value()}, {"updated_at", Value("2024-06-02T10:00:00Z")}});

  const auto name = book.field_history(tables::customers, id, "name");
  CHECK(texts(name) == std::vector<std::string>{"Peña Hermanos", "Peña e Hijos", "Peña"});
  REQUIRE(name.size() == 3);
  CHECK(name[0].current);
  CHECK_FALSE(name[1].current);
  CHECK(name[0].version.hlc > name[1].version.hlc);
  CHECK(name[1].version.hlc > name[2].version.hlc);
  CHECK(name[2].version.replica == "r-ana");
  // A cleared field: its current value is empty, the number it had is kept.
  CHECK(texts(book.field_history(tables::customers, id, "phone")) ==
        std::vector<std::string>{"-", "600 1"});
  // The automatic field keeps no history; nor does the one that never changed.
  CHECK(book.field_history(tables::customers, id, "updated_at").size() == 1);
  auto fields = book.fields_with_history(tables::customers, id);
  std::sort(fields.begin(), fields.end());
  CHECK(fields == std::vector<std::string>{"name", "phone"});

  // Who: unknown until the replica learns who uses the device.
  CHECK(name[0].user.empty());
  book.note_device_users({{"r-ana", "ana"}});
  CHECK(book.field_history(tables::customers, id, "name")[1].user == "ana");
  CHECK(book.device_user("r-ana") == "ana");
  CHECK_FALSE(book.device_user("r-other"));
  CHECK_THROWS_AS(book.field_history(tables::customers, id, "no_such_field"), Error);
  CHECK(book.field_history(tables::customers, "no-such-row", "name").empty());
}

TEST_CASE("field history: merges keep what they replace, and nothing for what loses", "[history]") {
  test::TempDir dir;
  Node office(dir, "r-office");
  Node phone(dir, "r-phone");
  const auto id = new_customer(*office.replica, "Talleres Ruiz");
  phone.replica->apply_remote(office.drain());
  // Received whole: it starts its history there.
  CHECK(phone.replica->fields_with_history(tables::customers, id).empty());

  office.clock->advance(std::chrono::milliseconds(5000));
  office.replica->update(tables::customers, id, {{"city", Value("Burgos")}});
  phone.replica->apply_remote(office.drain());
  office.clock->advance(std::chrono::milliseconds(5000));
  office.replica->update(tables::customers, id, {{"city", Value("León")}});
  auto changes = office.drain();
  // An older edit made on the phone loses to the office's; it leaves no trace in the history.
  phone.clock->advance(std::chrono::milliseconds(1000));
  phone.replica->update(tables::customers, id, {{"notes", Value("llamar el lunes")}});
  phone.replica->apply_remote(changes);
  CHECK(texts(phone.replica->field_history(tables::customers, id, "city")) ==
        std::vector<std::string>{"León", "Burgos"});

  Change stale = changes.front();
  stale.value = Value("Soria");
  stale.version.hlc = Hlc::from_parts(stale.version.hlc.millis() - 3000, 0);
  phone.replica->apply_remote({stale});
  CHECK(texts(phone.replica->field_history(tables::customers, id, "city")) ==
        std::vector<std::string>{"León", "Burgos"});

  // Who wrote each side of a conflict says who uses those devices.
  ConflictNotice notice;
  notice.table = tables::customers;
  notice.row = id;
  notice.field = "city";
  notice.kept = Value("León");
  notice.lost = Value("Soria");
  notice.kept_version = phone.replica->field_history(tables::customers, id, "city")[0].version;
  notice.lost_version = Version{stale.version.hlc, "r-ana-laptop"};
  notice.kept_user = "oficina";
  notice.lost_user = "ana";
  phone.replica->record_conflicts({notice});
  CHECK(phone.replica->field_history(tables::customers, id, "city")[0].user == "oficina");
  CHECK(phone.replica->device_user("r-office") == "oficina");
  CHECK(phone.replica->device_user("r-ana-laptop") == "ana");
}

TEST_CASE(
    "field history: a field keeps its newest values only, and a row that leaves the "
    "scope takes its history",
    "[history]") {
  test::TempDir dir;
  Node node(dir, "r-ana");
  Replica& book = *node.replica;
  const auto id = new_customer(book, "v0");
  Contact contact;
  contact.customer_id = id;
  contact.name = "Luisa";
  const auto contact_id = book.create(contact);
  book.update(tables::contacts, contact_id, {{"name", Value("Luisa Gil")}});
  for (int i = 1; i <= 60; ++i) {
    node.clock->advance(std::chrono::milliseconds(10));
    book.update(tables::customers, id, {{"name", Value("v" + std::to_string(i))}});
  }
  const auto history = book.field_history(tables::customers, id, "name", 1000);
  REQUIRE(history.size() == 51);
  CHECK(history.front().value.as_text() == "v60");
  CHECK(history.back().value.as_text() == "v10");
  CHECK(book.field_history(tables::customers, id, "name", 3).size() == 3);
  CHECK(texts(book.field_history(tables::contacts, contact_id, "name")) ==
        std::vector<std::string>{"Luisa Gil", "Luisa"});

  node.drain();
  book.apply_page({}, SyncCursor{}, {RowRef{tables::customers, id}});
  CHECK(book.fields_with_history(tables::customers, id).empty());
  CHECK(book.fields_with_history(tables::contacts, contact_id).empty());
}
