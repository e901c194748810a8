// The SQLite store's rows on disk: what is saved comes back exactly, whatever the values
// hold, and a row whose stored text was damaged is a storage error, not a wrong row.
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

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

// The row as the writer loads it (to merge into it) and as a pull reads it (to serve it).
void check_reads_back(Store& store, const ServerRow& row) {
  auto loaded = store.begin_write()->load_row(row.table, row.id);
  REQUIRE(loaded.has_value());
  CHECK(loaded->fields == row.fields);
  CHECK(loaded->versions == row.versions);
  CHECK(loaded->key_seqs == row.key_seqs);
  CHECK(loaded->seq == row.seq);
  CHECK(loaded->customer == row.customer);
  CHECK(loaded->scope == row.scope);
  CHECK(loaded->scope_seq == row.scope_seq);
  const RowsPage page = store.read_page(row.seq - 1, 1, nullptr);
  REQUIRE(page.rows.size() == 1);
  CHECK(page.rows[0].id == row.id);
  CHECK(page.rows[0].fields == row.fields);
  CHECK(page.rows[0].versions == row.versions);
  CHECK(page.rows[0].key_seqs == row.key_seqs);
}

// How file version 2 stored a row (fields and key_seqs as nlohmann's dump wrote them, the
// versions as RowVersions::encode's text), as a file of that version held it.
void store_as_version_2(const std::filesystem::path& file, const ServerRow& row) {
  nlohmann::json fields = nlohmann::json::object();
  for (const auto& [name, value] : row.fields) fields[name] = value_to_json(value);
  nlohmann::json key_seqs = nlohmann::json::object();
  for (const auto& [key, seq] : row.key_seqs) key_seqs[std::to_string(seq)].push_back(key);
  sqlite::Database db(file.string(), false);
  auto stmt = db.prepare("UPDATE rows SET fields = ?, versions = ?, key_seqs = ? WHERE id = ?");
  stmt.bind(1, fields.dump()).bind(2, row.versions.encode()).bind(3, key_seqs.dump());
  stmt.bind(4, row.id).run();
  db.exec("UPDATE meta SET value = '2' WHERE key = 'file_version'");
}

std::string stored(const std::filesystem::path& file, const std::string& column) {
  sqlite::Database db(file.string(), false);
  auto stmt = db.prepare("SELECT " + column + " FROM rows");
  REQUIRE(stmt.step());
  return stmt.text(0);
}

}  // namespace

TEST_CASE("store: a row comes back exactly as it was saved, whatever its values hold", "[store]") {
  test::TempDir dir;
  const ServerRow row = awkward_row();
  {
    auto store = open_sqlite_store(dir.file("server.db"));
    save(*store, row);
  }
  check_reads_back(*open_sqlite_store(dir.file("server.db")), row);
}

TEST_CASE("store: a row written at once keeps each key once, with its version and sequence",
          "[store]") {
  test::TempDir dir;
  ServerRow row;
  row.table = "customers";
  row.id = "c1";
  row.customer = "c1";
  row.seq = 7;
  for (const char* name : {"city", "name", "phone"}) {
    row.fields[name] = Value(std::string("x"));
    row.versions.set_field(name, version(1000, "dev-a"));
    row.key_seqs[name] = 7;
  }
  // A later edit of one field, and a key a version 2 row had no sequence for.
  row.versions.set_field("phone", version(2000, "dev-b"));
  row.key_seqs["phone"] = 9;
  row.fields["status"] = Value(std::string("active"));
  row.versions.set_field("status", version(1500, "dev-a"));
  row.seq = 9;
  save(*open_sqlite_store(dir.file("server.db")), row);

  CHECK(stored(dir.file("server.db"), "key_seqs").empty());
  const std::string versions = stored(dir.file("server.db"), "versions");
  CHECK(versions == "{\"" + version(1000, "dev-a").to_string() +
                        "\":{\"7\":[\"city\",\"name\"]},\"" + version(1500, "dev-a").to_string() +
                        "\":{\"0\":[\"status\"]},\"" + version(2000, "dev-b").to_string() +
                        "\":{\"9\":[\"phone\"]}}");

  auto store = open_sqlite_store(dir.file("server.db"));
  check_reads_back(*store, row);
  // The key without a sequence is in every page, the others only after their change.
  const auto loaded = store->begin_write()->load_row(row.table, row.id);
  CHECK(loaded->state_after(8).versions.entries().size() == 2);  // phone and status
}

TEST_CASE("store: random versions and sequences come back as saved, in both forms", "[store]") {
  // Keys share versions and sequences in every combination: one version over several
  // sequences, several versions at one sequence, keys with no sequence; each row saved,
  // read back, then stored as version 2 did and read back again.
  const std::uint64_t seed = GENERATE(1u, 2u, 3u);
  std::mt19937_64 rng(seed);
  test::TempDir dir;
  auto store = open_sqlite_store(dir.file("server.db"));
  std::vector<ServerRow> rows;
  for (int r = 0; r < 200; ++r) {
    ServerRow row;
    row.table = "customers";
    row.id = "c" + std::to_string(r);
    row.customer = row.id;
    row.seq = 1 + static_cast<std::uint64_t>(r);
    const int keys = static_cast<int>(rng() % 12);
    for (int k = 0; k < keys; ++k) {
      std::string key = "f" + std::to_string(rng() % 20);
      if (rng() % 4 == 0) key += (rng() % 2 ? "+" : "-") + std::string("tag \"") + key + '"';
      row.versions.set_field(key, version(1000 + rng() % 3, "dev-" + std::to_string(rng() % 2)));
      if (rng() % 5 != 0) row.key_seqs[key] = 1 + rng() % 4;
    }
    auto writer = store->begin_write();
    writer->save_row(row);
    writer->set_last_seq(row.seq);
    writer->commit();
    rows.push_back(std::move(row));
  }
  const auto check_all = [&](const char* form) {
    for (const ServerRow& row : rows) {
      CAPTURE(seed, form, row.id, row.versions.encode());
      check_reads_back(*store, row);
    }
  };
  check_all("version 3");
  store.reset();
  for (const ServerRow& row : rows) store_as_version_2(dir.file("server.db"), row);
  store = open_sqlite_store(dir.file("server.db"));
  check_all("version 2");
}

TEST_CASE(
    "store: rows stored by earlier versions read back the same, and are rewritten in "
    "the current form",
    "[store]") {
  test::TempDir dir;
  const ServerRow row = awkward_row();
  save(*open_sqlite_store(dir.file("server.db")), row);
  store_as_version_2(dir.file("server.db"), row);
  {
    auto store = open_sqlite_store(dir.file("server.db"));
    check_reads_back(*store, row);
    save(*store, row);  // as the writer saves a row it changed
  }
  CHECK(stored(dir.file("server.db"), "key_seqs").empty());
  check_reads_back(*open_sqlite_store(dir.file("server.db")), row);
}

TEST_CASE("store: a row whose stored text is damaged is a storage error", "[store]") {
  test::TempDir dir;
  const ServerRow row = awkward_row();
  save(*open_sqlite_store(dir.file("server.db")), row);
  const std::string v = version(1000, "dev-a").to_string();
  const std::string w = version(2000, "dev-a").to_string();

  // As version 2 stored it (key_seqs not empty), or as version 3 does.
  const auto [as_version_2, column, damaged] = GENERATE_COPY(table<bool, std::string, std::string>({
      {false, "fields", "{\"name\":"},                             // cut short
      {false, "fields", "[\"name\"]"},                             // not an object
      {false, "fields", "{\"name\":{\"nested\":1}}"},              // an object is not a value
      {false, "fields", "{\"tags\":[\"a\",[\"b\"]]}"},             // a list inside a tag set
      {false, "fields", "{\"tags\":[\"a\",1]}"},                   // a tag that is not a text
      {false, "fields", "{\"big\":18446744073709551615}"},         // beyond a signed 64-bit integer
      {false, "fields", "{\"a\":1 \"b\":2}"},                      // no comma
      {false, "fields", "{\"a\":1}x"},                             // something after the object
      {false, "fields", "{\"a\":\"\\ud800\"}"},                    // half a surrogate pair
      {false, "fields", "{\"a\":1e400}"},                          // beyond a double
      {false, "versions", "{\"" + v + "\":{\"x\":[\"name\"]}}"},   // a sequence not a number
      {false, "versions", "{\"" + v + "\":{\"-1\":[\"name\"]}}"},  // a negative sequence
      {false, "versions", "{\"" + v + "\":{\"3\":\"name\"}}"},     // keys not in a list
      {false, "versions", "{\"" + v + "\":{\"3\":[3]}}"},          // a key that is not a text
      {false, "versions", "{\"" + v + "\":[\"name\"]}"},           // no sequences
      {false, "versions", "{\"" + v + "\":{\"3\":[\"name\"]}"},    // cut short
      {false, "versions", "{\"" + v + "\":{\"3\":[\"a\"]},}"},     // a comma and nothing
      {false, "versions", "{\"not a version\":{\"3\":[\"name\"]}}"},
      {false, "versions", "{\"" + v + "\":{}}"},          // a version with no keys
      {false, "versions", "{\"" + v + "\":{\"3\":[]}}"},  // a sequence with no keys
      {false, "versions", "{\"" + v + "\":{\"3\":[\"a\"],\"4\":[\"a\"]}}"},  // a key twice
      {false, "versions",
       "{\"" + v + "\":{\"3\":[\"a\"]},\"" + w + "\":{\"3\":[\"a\"]}}"},  // a key, two versions
      {true, "key_seqs", "{\"x\":[\"name\"]}"},                  // a sequence that is not a number
      {true, "key_seqs", "{\"12\":\"name\"}"},                   // keys not in a list
      {true, "key_seqs", "{\"12\":[3]}"},                        // a key that is not a text
      {true, "key_seqs", "{\"12\":[[\"name\"]]}"},               // a list inside the keys
      {true, "key_seqs", "{\"-1\":[\"name\"]}"},                 // a negative sequence
      {true, "versions", "{\"" + v + "\":{\"3\":[\"name\"]}}"},  // version 3's form
  }));
  CAPTURE(as_version_2, column, damaged);
  if (as_version_2) store_as_version_2(dir.file("server.db"), row);
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
