// The SQLite store's rows on disk: what is saved comes back exactly, whatever the values
// hold, and a row whose stored text was damaged is a storage error, not a wrong row.
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

#include "libreta/protocol/error.hpp"
#include "libreta/protocol/value_json.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "libreta/sqlite/sqlite.hpp"
#include "support/temp_dir.hpp"

using namespace libreta;
using namespace libreta::server;

namespace {

Version version(std::uint64_t millis, const std::string& replica) {
  return Version{Hlc::from_parts(millis, 0), replica};
}

// A row with every kind of value, and texts that need escaping in keys and values.
ServerRow awkward_row() {
  ServerRow row;
  row.table = "customers";
  row.id = "c-\"1\"";
  row.fields = {
      {"name", Value("Caf\xc3\xa9 \"Ruiz\" \\ tab\there\nline \xf0\x9f\x9a\x97")},
      {"phone", Value()},
      {"vip", Value(true)},
      {"lost", Value(false)},
      {"big", Value(std::numeric_limits<std::int64_t>::max())},
      {"low", Value(std::numeric_limits<std::int64_t>::min())},
      {"beyond_double", Value(std::int64_t{9007199254740993})},
      {"ratio", Value(0.1)},
      {"tiny", Value(1e-300)},
      {"tags", Value(TagSet{"", "a\"b", "x y", "\xc3\xb1"})},
      {"no_tags", Value(TagSet{})},
      {"unknown_to_the_schema", Value("kept as it came")},
  };
  std::uint64_t seq = 10;
  for (const auto& [name, value] : row.fields) {
    row.versions.set_field(name, version(1000 + seq, "dev-a"));
    row.key_seqs[name] = ++seq;
  }
  Change add{row.table, row.id, "tags", "a\"b", Value(true), version(5000, "dev-b"), {}};
  row.versions.merge(add);
  row.key_seqs["tags+a\"b"] = ++seq;
  row.seq = seq;
  row.customer = row.id;
  row.scope = "ana";
  row.scope_seq = 3;
  return row;
}

void save(Store& store, const ServerRow& row) {
  auto writer = store.begin_write();
  writer->save_row(row);
  writer->set_last_seq(row.seq);
  writer->commit();
}

}  // namespace

TEST_CASE("store: a row comes back exactly as it was saved, whatever its values hold", "[store]") {
  test::TempDir dir;
  const ServerRow row = awkward_row();
  {
    auto store = open_sqlite_store(dir.file("server.db"));
    save(*store, row);
  }
  // Reopened: read back by the writer (merging) and by a pull (serving).
  auto store = open_sqlite_store(dir.file("server.db"));
  auto loaded = store->begin_write()->load_row(row.table, row.id);
  REQUIRE(loaded.has_value());
  CHECK(loaded->fields == row.fields);
  CHECK(loaded->versions == row.versions);
  CHECK(loaded->key_seqs == row.key_seqs);
  CHECK(loaded->seq == row.seq);
  CHECK(loaded->customer == row.customer);
  CHECK(loaded->scope == row.scope);
  CHECK(loaded->scope_seq == row.scope_seq);

  const RowsPage page = store->read_page(0, 10, nullptr);
  REQUIRE(page.rows.size() == 1);
  CHECK(page.rows[0].fields == row.fields);
  CHECK(page.rows[0].key_seqs == row.key_seqs);
}

TEST_CASE("store: rows stored by earlier versions, with nlohmann's JSON, read back the same",
          "[store]") {
  test::TempDir dir;
  const ServerRow row = awkward_row();
  save(*open_sqlite_store(dir.file("server.db")), row);
  {
    // Before json_text, fields were nlohmann's dump of an object of value_to_json, and
    // key_seqs an object of sequences as text, in text order, each with its list of keys.
    nlohmann::json fields = nlohmann::json::object();
    for (const auto& [name, value] : row.fields) fields[name] = value_to_json(value);
    nlohmann::json key_seqs = nlohmann::json::object();
    for (const auto& [key, seq] : row.key_seqs) key_seqs[std::to_string(seq)].push_back(key);
    sqlite::Database db(dir.file("server.db").string(), false);
    auto stmt = db.prepare("UPDATE rows SET fields = ?, key_seqs = ?");
    stmt.bind(1, fields.dump()).bind(2, key_seqs.dump()).run();
  }
  auto store = open_sqlite_store(dir.file("server.db"));
  auto loaded = store->begin_write()->load_row(row.table, row.id);
  REQUIRE(loaded.has_value());
  CHECK(loaded->fields == row.fields);
  CHECK(loaded->key_seqs == row.key_seqs);
}

TEST_CASE("store: a row whose stored text is damaged is a storage error", "[store]") {
  test::TempDir dir;
  const ServerRow row = awkward_row();
  save(*open_sqlite_store(dir.file("server.db")), row);

  const auto [column, damaged] = GENERATE(table<std::string, std::string>({
      {"fields", "{\"name\":"},                      // cut short
      {"fields", "[\"name\"]"},                      // not an object
      {"fields", "{\"name\":{\"nested\":1}}"},       // an object is not a value
      {"fields", "{\"tags\":[\"a\",[\"b\"]]}"},      // a list inside a tag set
      {"fields", "{\"tags\":[\"a\",1]}"},            // a tag that is not a text
      {"fields", "{\"big\":18446744073709551615}"},  // beyond a signed 64-bit integer
      {"key_seqs", "{\"x\":[\"name\"]}"},            // a sequence that is not a number
      {"key_seqs", "{\"12\":\"name\"}"},             // keys not in a list
      {"key_seqs", "{\"12\":[3]}"},                  // a key that is not a text
      {"key_seqs", "{\"12\":[[\"name\"]]}"},         // a list inside the keys
      {"fields", "{\"a\":1 \"b\":2}"},               // no comma
      {"fields", "{\"a\":1}x"},                      // something after the object
      {"fields", "{\"a\":\"\\ud800\"}"},             // half a surrogate pair
      {"fields", "{\"a\":1e400}"},                   // beyond a double
      {"key_seqs", "{\"-1\":[\"name\"]}"},           // a negative sequence
  }));
  CAPTURE(column, damaged);
  {
    sqlite::Database db(dir.file("server.db").string(), false);
    auto stmt = db.prepare("UPDATE rows SET " + column + " = ?");
    stmt.bind(1, damaged).run();
  }
  auto store = open_sqlite_store(dir.file("server.db"));
  try {
    store->begin_write()->load_row(row.table, row.id);
    FAIL("a damaged row was read");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::storage);
  }
  CHECK_THROWS_AS(store->read_page(0, 10, nullptr), Error);
}
