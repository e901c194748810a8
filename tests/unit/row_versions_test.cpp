// The merge rule of one row: last writer wins per field, observed-remove per tag, and the
// compact encoding of the row's versions.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "libreta/protocol/change.hpp"
#include "libreta/protocol/row_versions.hpp"

namespace libreta {
namespace {

constexpr std::uint64_t kStart = 1'700'000'000'000;

Version at(std::uint64_t tick, std::string replica = "a") {
  return Version{Hlc::from_parts(kStart + tick, 0), std::move(replica)};
}

Change field_change(std::string field, Value value, Version version, Version base = {}) {
  return Change{"customers",        "row-1",        std::move(field), "", std::move(value),
                std::move(version), std::move(base)};
}

Change add_tag(std::string tag, Version version, Version base = {}) {
  return Change{"customers",        "row-1",        "tags", std::move(tag), true,
                std::move(version), std::move(base)};
}

// A remove carries, as its base, the version of the tag's latest add its writer had seen.
Change remove_tag(std::string tag, Version version, Version observed_add) {
  return Change{"customers",
                "row-1",
                "tags",
                std::move(tag),
                false,
                std::move(version),
                std::move(observed_add)};
}

TEST_CASE("merge: a field never set has no version", "[merge]") {
  RowVersions row;
  CHECK(row.empty());
  CHECK(row.field("name").is_none());
  CHECK(row.latest().is_none());
}

TEST_CASE("merge: the later version of a field wins", "[merge]") {
  RowVersions row;
  CHECK(row.merge(field_change("name", "Acme", at(1))));
  CHECK(row.field("name") == at(1));
  CHECK(row.merge(field_change("name", "Acme Ltd", at(2))));
  CHECK(row.field("name") == at(2));
}

TEST_CASE("merge: an older or equal version of a field is ignored", "[merge]") {
  RowVersions row;
  REQUIRE(row.merge(field_change("name", "Acme Ltd", at(5))));
  CHECK_FALSE(row.merge(field_change("name", "Acme", at(4))));
  CHECK_FALSE(row.merge(field_change("name", "Acme", at(5))));
  CHECK(row.field("name") == at(5));
}

TEST_CASE("merge: equal clocks are decided by replica id", "[merge]") {
  RowVersions row;
  REQUIRE(row.merge(field_change("city", "Lima", at(3, "bbb"))));
  CHECK_FALSE(row.merge(field_change("city", "Quito", at(3, "aaa"))));
  CHECK(row.field("city") == at(3, "bbb"));
  CHECK(row.merge(field_change("city", "Cusco", at(3, "ccc"))));
  CHECK(row.field("city") == at(3, "ccc"));
}

TEST_CASE("merge: fields merge independently and latest() is the newest of them", "[merge]") {
  RowVersions row;
  REQUIRE(row.merge(field_change("name", "Acme", at(1))));
  REQUIRE(row.merge(field_change("city", "Lima", at(7))));
  REQUIRE(row.merge(field_change("email", "a@b.co", at(3))));
  CHECK_FALSE(row.merge(field_change("name", "Old", at(0))));
  CHECK(row.field("name") == at(1));
  CHECK(row.field("city") == at(7));
  CHECK(row.latest() == at(7));
}

TEST_CASE("merge: a delete is a field like any other", "[merge]") {
  RowVersions row;
  REQUIRE(row.merge(field_change("name", "Acme", at(1))));
  CHECK(row.merge(field_change(kDeletedField, true, at(2))));
  CHECK_FALSE(row.merge(field_change(kDeletedField, false, at(1))));
  CHECK(row.field(kDeletedField) == at(2));
}

TEST_CASE("tags: an added tag is present, and a remove that saw the add removes it", "[tags]") {
  RowVersions row;
  CHECK_FALSE(row.tag_present("tags", "vip"));
  REQUIRE(row.merge(add_tag("vip", at(1))));
  CHECK(row.tag_present("tags", "vip"));
  CHECK(row.tag_added("tags", "vip") == at(1));

  REQUIRE(row.merge(remove_tag("vip", at(2), at(1))));
  CHECK_FALSE(row.tag_present("tags", "vip"));
  CHECK(row.tag_removed("tags", "vip") == at(1));
}

TEST_CASE("tags: a tag added again after a remove is present again", "[tags]") {
  RowVersions row;
  REQUIRE(row.merge(add_tag("vip", at(1))));
  REQUIRE(row.merge(remove_tag("vip", at(2), at(1))));
  REQUIRE(row.merge(add_tag("vip", at(3))));
  CHECK(row.tag_present("tags", "vip"));
}

TEST_CASE("tags: a remove of a tag never seen added changes nothing", "[tags]") {
  RowVersions row;
  CHECK_FALSE(row.merge(remove_tag("vip", at(2), Version{})));
  CHECK(row.empty());
  CHECK_FALSE(row.tag_present("tags", "vip"));
}

TEST_CASE("tags: tags are independent of each other and of other tag fields", "[tags]") {
  RowVersions row;
  REQUIRE(row.merge(add_tag("vip", at(1))));
  REQUIRE(row.merge(add_tag("wholesale", at(1))));
  REQUIRE(row.merge(remove_tag("vip", at(2), at(1))));
  CHECK_FALSE(row.tag_present("tags", "vip"));
  CHECK(row.tag_present("tags", "wholesale"));
  CHECK_FALSE(row.tag_present("labels", "wholesale"));
}

TEST_CASE("tags: an add concurrent with a remove survives it, in every order of delivery",
          "[tags]") {
  // Replica a adds "vip" at 1. Replica b sees it and removes it at 3; concurrently replica c,
  // which had not seen the remove, adds "vip" again at 2.
  const std::vector<Change> changes = {add_tag("vip", at(1, "a")),
                                       remove_tag("vip", at(3, "b"), at(1, "a")),
                                       add_tag("vip", at(2, "c"))};
  std::vector<std::size_t> order = {0, 1, 2};
  int orders = 0;
  do {
    RowVersions row;
    for (std::size_t i : order) row.merge(changes[i]);
    INFO("order " << order[0] << order[1] << order[2]);
    CHECK(row.tag_present("tags", "vip"));
    CHECK(row.tag_added("tags", "vip") == at(2, "c"));
    ++orders;
  } while (std::next_permutation(order.begin(), order.end()));
  CHECK(orders == 6);
}

TEST_CASE("tags: a remove that saw the newest add wins in every order of delivery", "[tags]") {
  const std::vector<Change> changes = {add_tag("vip", at(1, "a")), add_tag("vip", at(2, "c")),
                                       remove_tag("vip", at(3, "b"), at(2, "c"))};
  std::vector<std::size_t> order = {0, 1, 2};
  do {
    RowVersions row;
    for (std::size_t i : order) row.merge(changes[i]);
    INFO("order " << order[0] << order[1] << order[2]);
    CHECK_FALSE(row.tag_present("tags", "vip"));
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST_CASE("tags: an older remove arriving late does not lower the remove horizon", "[tags]") {
  RowVersions row;
  REQUIRE(row.merge(add_tag("vip", at(1))));
  REQUIRE(row.merge(add_tag("vip", at(4))));
  REQUIRE(row.merge(remove_tag("vip", at(5), at(4))));
  CHECK_FALSE(row.merge(remove_tag("vip", at(2), at(1))));
  CHECK(row.tag_removed("tags", "vip") == at(4));
  CHECK_FALSE(row.tag_present("tags", "vip"));
}

// A random history of one row: field sets, deletes, tag adds and tag removes that saw
// some earlier add, written by a few replicas at a few clock ticks (so ties happen).
std::vector<Change> random_history(std::mt19937& random, int count) {
  const std::vector<std::string> replicas = {"a", "b", "server"};
  const std::vector<std::string> fields = {"name", "city", "status", "notes"};
  const std::vector<std::string> tags = {"vip",   "wholesale", "north", "tag \"quoted\"",
                                         "ñandú", "tab\there"};
  std::vector<Change> adds;
  std::vector<Change> history;
  auto pick = [&random](const auto& from) {
    return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(random)];
  };
  for (int i = 0; i < count; ++i) {
    const Version version =
        at(std::uniform_int_distribution<std::uint64_t>(1, 12)(random), pick(replicas));
    switch (std::uniform_int_distribution<int>(0, 3)(random)) {
      case 0:
        history.push_back(field_change(pick(fields), "value " + std::to_string(i), version));
        break;
      case 1:
        history.push_back(field_change(kDeletedField, i % 2 == 0, version));
        break;
      case 2:
        adds.push_back(add_tag(pick(tags), version));
        history.push_back(adds.back());
        break;
      default:
        if (adds.empty()) break;
        const Change& seen = pick(adds);
        history.push_back(remove_tag(seen.element, version, seen.version));
        break;
    }
  }
  return history;
}

TEST_CASE("merge: the result is the same in any order of delivery, with duplicates",
          "[merge][convergence]") {
  std::mt19937 random(20240229);
  for (int round = 0; round < 20; ++round) {
    const std::vector<Change> history = random_history(random, 40);
    RowVersions reference;
    for (const auto& change : history) reference.merge(change);
    const std::string expected = reference.encode();
    REQUIRE_FALSE(reference.empty());

    for (int shuffle = 0; shuffle < 25; ++shuffle) {
      std::vector<Change> delivery = history;
      // Redeliver some changes: at-least-once delivery must not matter.
      for (int d = 0; d < 10; ++d) {
        delivery.push_back(
            history[std::uniform_int_distribution<std::size_t>(0, history.size() - 1)(random)]);
      }
      std::shuffle(delivery.begin(), delivery.end(), random);
      RowVersions row;
      for (const auto& change : delivery) row.merge(change);
      INFO("round " << round << ", shuffle " << shuffle);
      REQUIRE(row.encode() == expected);
      REQUIRE(row == reference);
    }
  }
}

TEST_CASE("merge: applying the same changes twice changes nothing the second time",
          "[merge][convergence]") {
  std::mt19937 random(7);
  const std::vector<Change> history = random_history(random, 60);
  RowVersions row;
  for (const auto& change : history) row.merge(change);
  const std::string once = row.encode();
  for (const auto& change : history) CHECK_FALSE(row.merge(change));
  CHECK(row.encode() == once);
}

TEST_CASE("merge: merging two replicas' histories either way gives the same state",
          "[merge][convergence]") {
  std::mt19937 random(99);
  const std::vector<Change> left = random_history(random, 30);
  const std::vector<Change> right = random_history(random, 30);
  RowVersions left_then_right;
  RowVersions right_then_left;
  for (const auto& change : left) left_then_right.merge(change);
  for (const auto& change : right) left_then_right.merge(change);
  for (const auto& change : right) right_then_left.merge(change);
  for (const auto& change : left) right_then_left.merge(change);
  CHECK(left_then_right.encode() == right_then_left.encode());
}

TEST_CASE("row versions: the encoding groups keys by version, deterministically",
          "[row_versions]") {
  RowVersions row;
  row.merge(field_change("name", "Acme", at(1)));
  row.merge(field_change("city", "Lima", at(1)));
  row.merge(field_change("notes", "x", at(2, "b")));
  row.merge(add_tag("vip", at(2, "b")));
  const std::string v1 = at(1).to_string();
  const std::string v2 = at(2, "b").to_string();
  CHECK(row.encode() ==
        "{\"" + v1 + "\":[\"city\",\"name\"],\"" + v2 + "\":[\"notes\",\"tags+vip\"]}");
  CHECK(RowVersions().encode() == "{}");
}

TEST_CASE("row versions: encode and decode round-trip", "[row_versions]") {
  std::mt19937 random(3);
  for (int round = 0; round < 20; ++round) {
    RowVersions row;
    for (const auto& change : random_history(random, 30)) row.merge(change);
    const auto decoded = RowVersions::decode(row.encode());
    REQUIRE(decoded);
    CHECK(*decoded == row);
    CHECK(decoded->encode() == row.encode());
  }
  const auto empty = RowVersions::decode("{}");
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("row versions: a field set back to no version is forgotten, not stored",
          "[row_versions]") {
  RowVersions row;
  row.set_field("name", at(1));
  row.set_field("city", at(2));
  row.set_field("name", Version{});
  CHECK(row.field("name").is_none());
  CHECK(row.entries().count("name") == 0);
  // Every stored version must survive the blob: "" is not a version a decoder accepts.
  const auto decoded = RowVersions::decode(row.encode());
  REQUIRE(decoded);
  CHECK(*decoded == row);

  RowVersions never_set;
  never_set.set_field("name", Version{});
  CHECK(never_set.empty());
}

TEST_CASE("row versions: decode rejects garbage", "[row_versions]") {
  const std::string v = at(1).to_string();
  CHECK_FALSE(RowVersions::decode(""));
  CHECK_FALSE(RowVersions::decode("not json"));
  CHECK_FALSE(RowVersions::decode("{"));
  CHECK_FALSE(RowVersions::decode("[]"));
  CHECK_FALSE(RowVersions::decode("\"" + v + "\""));
  CHECK_FALSE(RowVersions::decode("{\"not a version\":[\"name\"]}"));
  CHECK_FALSE(RowVersions::decode("{\"\":[\"name\"]}"));
  CHECK_FALSE(RowVersions::decode("{\"" + v + "\":\"name\"}"));
  CHECK_FALSE(RowVersions::decode("{\"" + v + "\":[1]}"));
  CHECK_FALSE(RowVersions::decode("{\"" + v + "\":[\"name\"]"));
  CHECK(RowVersions::decode("{\"" + v + "\":[\"name\"]}"));
}

}  // namespace
}  // namespace libreta
