// The replica's queries for the road: full-text search, customer lists, follow-ups,
// birthdays, quiet customers, lost deals, purchase behaviour and RFM, on small books whose
// answers are worked out by hand.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "libreta/client/replica.hpp"
#include "libreta/protocol/schema.hpp"
#include "support/temp_dir.hpp"

using namespace libreta;
using namespace libreta::client;

namespace {

// A replica in a temporary directory (removed afterwards) on a fake clock, with helpers to
// fill it.
class ReplicaFixture {
 public:
  ReplicaFixture() : clock_(std::make_shared<FakeClock>(1'700'000'000'000)) {
    ReplicaOptions options;
    options.clock = clock_;
    options.new_replica_id = "r-queries";
    replica_ = Replica::open(dir_.file("book.db"), options);
  }

  Replica& replica() { return *replica_; }

  std::string customer(const std::string& name, const std::string& status = "active") {
    Customer c;
    c.name = name;
    c.status = status;
    return replica_->create(c);
  }
  std::string customer(Customer c) { return replica_->create(c); }

  std::string contact(const std::string& customer_id, const std::string& name,
                      OptText personal_notes = std::nullopt, OptText birthday = std::nullopt) {
    Contact k;
    k.customer_id = customer_id;
    k.name = name;
    k.personal_notes = std::move(personal_notes);
    k.birthday = std::move(birthday);
    return replica_->create(k);
  }

  std::string interaction(const std::string& customer_id, const std::string& date,
                          OptText outcome = std::nullopt, OptText revisit_on = std::nullopt,
                          OptText notes = std::nullopt) {
    Interaction i;
    i.customer_id = customer_id;
    i.type = "visit";
    i.date = date;
    i.outcome = std::move(outcome);
    i.revisit_on = std::move(revisit_on);
    i.notes = std::move(notes);
    if (i.outcome == "lost") i.lost_reason = "price";
    return replica_->create(i);
  }

  std::string purchase(const std::string& customer_id, const std::string& date, double amount,
                       const std::string& product = "aceite") {
    Purchase p;
    p.customer_id = customer_id;
    p.date = date;
    p.amount = amount;
    p.product = product;
    return replica_->create(p);
  }

  std::string followup(const std::string& customer_id, const std::string& due,
                       const std::string& title, bool done = false) {
    FollowUp f;
    f.customer_id = customer_id;
    f.due = due;
    f.title = title;
    f.done = done;
    return replica_->create(f);
  }

  // Ids of the customers the search finds, in order.
  std::vector<std::string> found(std::string_view text) {
    std::vector<std::string> ids;
    for (const auto& hit : replica_->search(text)) ids.push_back(hit.customer_id);
    return ids;
  }

 private:
  test::TempDir dir_;
  std::shared_ptr<FakeClock> clock_;
  std::unique_ptr<Replica> replica_;
};

std::string day(std::int64_t number) {
  return civil_from_days(number);
}
std::int64_t number(const char* date) {
  return *parse_day_number(date);
}

template <class T>
std::vector<std::string> names_of(const std::vector<T>& rows) {
  std::vector<std::string> names;
  for (const auto& row : rows) names.push_back(row.name);
  return names;
}

// ---- Search ----------------------------------------------------------------------------------

// A small book for search: two companies with similar names, a person, a deleted customer.
class SearchBook : public ReplicaFixture {
 public:
  SearchBook() {
    Customer pena;
    pena.name = "Peña Núñez S.L.";
    pena.tax_id = "B-12.345.678";
    pena.email = "info@pena-nunez.es";
    pena.phone = "+34 912 345 678";
    pena.city = "Salamanca";
    pena.region = "Castilla y León";
    pena.notes = "Prefers deliveries on Tuesdays";
    pena_ = customer(pena);
    mercedes_ = contact(pena_, "Mercedes Álvarez", "Loves flamenco; works at Peña since 2010");

    Customer nunez;
    nunez.name = "Nunez Hermanos";
    nunez.city = "Toledo";
    nunez.status = "prospect";
    nunez_ = customer(nunez);
    ceramic_ = interaction(nunez_, "2024-03-01T10:00:00Z", "positive", std::nullopt,
                           "Asked about the ceramic catalogue");
    const auto rafael = contact(nunez_, "Rafael Quitado");
    replica().remove(tables::contacts, rafael);

    Customer jose;
    jose.kind = "person";
    jose.name = "José García";
    jose.mobile = "600 111 222";
    jose.city = "Straßburg";
    jose_ = customer(jose);

    Customer gone;
    gone.name = "Zacarías Borrado";
    gone.city = "Zamora";
    const auto gone_id = customer(gone);
    contact(gone_id, "Ximena Oculta");
    replica().remove(tables::customers, gone_id);
  }

  std::string pena_, mercedes_, nunez_, ceramic_, jose_;
};

TEST_CASE_METHOD(SearchBook, "search: 'pena' finds Peña, case and accents ignored",
                 "[queries][search]") {
  for (const char* text : {"pena", "PENA", "Peña", "peÑa"}) {
    INFO(text);
    const auto hits = replica().search(text);
    REQUIRE(hits.size() == 1);
    CHECK(hits[0].customer_id == pena_);
    CHECK(hits[0].customer_name == "Peña Núñez S.L.");
    CHECK(hits[0].table == "customers");
    CHECK(hits[0].row_id == pena_);
    CHECK(hits[0].snippet.find("Peña") != std::string::npos);
  }
}

TEST_CASE_METHOD(SearchBook, "search: 'jose' finds José and 'NUÑEZ' finds Nunez",
                 "[queries][search]") {
  CHECK(found("jose") == std::vector<std::string>{jose_});
  const auto nunez = found("NUÑEZ");
  CHECK(std::set<std::string>(nunez.begin(), nunez.end()) == std::set<std::string>{pena_, nunez_});
}

TEST_CASE_METHOD(SearchBook, "search: tax id, email, phone, city, region and notes are searched",
                 "[queries][search]") {
  const std::vector<std::string> pena{pena_};
  CHECK(found("B-12.345.678") == pena);
  CHECK(found("b12345678") == pena);
  CHECK(found("info@pena-nunez.es") == pena);
  CHECK(found("pena-nunez.es") == pena);
  CHECK(found("912345678") == pena);
  CHECK(found("+34 912") == pena);
  CHECK(found("34912345678") == pena);
  CHECK(found("600111222") == std::vector<std::string>{jose_});
  CHECK(found("600 111") == std::vector<std::string>{jose_});
  CHECK(found("salamanca") == pena);
  CHECK(found("castilla leon") == pena);
  CHECK(found("tuesdays") == pena);
  CHECK(found("Straßburg") == std::vector<std::string>{jose_});
  CHECK(found("strassburg") == std::vector<std::string>{jose_});
  CHECK(found("345678") == pena);  // the end of a phone number
}

TEST_CASE_METHOD(SearchBook, "search: the snippet is the field that matched, as written",
                 "[queries][search]") {
  const auto snippet = [&](std::string_view text) {
    const auto hits = replica().search(text);
    REQUIRE(hits.size() == 1);
    return hits[0].snippet;
  };
  CHECK(snippet("912345678") == "+34 912 345 678");  // not the runs of digits indexed
  CHECK(snippet("345678") == "+34 912 345 678");
  CHECK(snippet("b12345678") == "B-12.345.678");  // not the compact form
  CHECK(snippet("strassburg") == "Straßburg");    // not the folded form
  CHECK(snippet("salamanca") == "Salamanca");
  CHECK(snippet("tues") == "Prefers deliveries on Tuesdays");
  CHECK(snippet("pena") == "Peña Núñez S.L.");
}

TEST_CASE_METHOD(SearchBook, "search: terms are prefixes and all of them must match",
                 "[queries][search]") {
  CHECK(found("sala") == std::vector<std::string>{pena_});
  CHECK(found("deliv tues") == std::vector<std::string>{pena_});
  CHECK(found("pena salamanca") == std::vector<std::string>{pena_});
  CHECK(found("pena toledo").empty());
  CHECK(found("alamanca").empty());  // a prefix, not any substring
}

TEST_CASE_METHOD(SearchBook, "search: contacts and interactions lead to their customer",
                 "[queries][search]") {
  auto hits = replica().search("mercedes");
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].customer_id == pena_);
  CHECK(hits[0].customer_name == "Peña Núñez S.L.");
  CHECK(hits[0].table == "contacts");
  CHECK(hits[0].row_id == mercedes_);

  hits = replica().search("flamenco");
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].row_id == mercedes_);
  CHECK(hits[0].snippet.find("flamenco") != std::string::npos);

  hits = replica().search("ceramic");
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].customer_id == nunez_);
  CHECK(hits[0].table == "interactions");
  CHECK(hits[0].row_id == ceramic_);
}

TEST_CASE_METHOD(SearchBook, "search: one hit per customer, its own row preferred",
                 "[queries][search]") {
  // "peña" matches both the customer and the notes of its contact Mercedes.
  const auto hits = replica().search("peña");
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].table == "customers");
  CHECK(hits[0].row_id == pena_);
}

TEST_CASE_METHOD(SearchBook,
                 "search: deleted customers, their contacts and deleted rows are "
                 "not found",
                 "[queries][search]") {
  CHECK(found("zacarias").empty());
  CHECK(found("zamora").empty());
  CHECK(found("ximena").empty());
  CHECK(found("rafael").empty());
}

TEST_CASE_METHOD(SearchBook, "search: blank text finds nothing and FTS syntax is plain text",
                 "[queries][search]") {
  CHECK(replica().search("").empty());
  CHECK(replica().search("   \t ").empty());
  CHECK(replica().search("-- ,;").empty());
  for (const char* text : {"\"",
                           "\"pena",
                           "pena\"",
                           "*",
                           "pe*na",
                           "(",
                           ")",
                           "(pena OR",
                           "AND",
                           "OR",
                           "NOT",
                           "NEAR",
                           "pena AND",
                           "AND pena",
                           "NEAR(pena jose)",
                           "^pena",
                           "-pena",
                           ":",
                           "body:pena",
                           "{body}: pena",
                           "customer_id:x",
                           "€",
                           "’",
                           "d’angelo",
                           "💡 pena",
                           "'; DROP TABLE x; --",
                           "\xff\xfe pena",
                           "pena\xc3"}) {
    INFO(text);
    REQUIRE_NOTHROW(replica().search(text));
  }
  REQUIRE_NOTHROW(replica().search(std::string(100'000, 'x')));
  REQUIRE_NOTHROW(replica().search(std::string(5'000, '9')));
  CHECK(found("pena)") == std::vector<std::string>{pena_});
  CHECK(found("\"pena\"") == std::vector<std::string>{pena_});
  CHECK(found("pena*") == std::vector<std::string>{pena_});
  CHECK(found("💡 pena") == std::vector<std::string>{pena_});
}

TEST_CASE_METHOD(SearchBook, "search: the limit caps the number of customers",
                 "[queries][search]") {
  CHECK(replica().search("nu").size() == 2);
  CHECK(replica().search("nu", 1).size() == 1);
  CHECK(replica().search("nu", 0).empty());
}

// ---- Lists -----------------------------------------------------------------------------------

TEST_CASE("list_customers: each filter matches exactly, ordered by name", "[queries][list]") {
  ReplicaFixture f;
  Customer a;
  a.name = "bodega Álamo";
  a.status = "active";
  a.relationship = "regular";
  a.segment = "A";
  a.city = "Jerez";
  a.region = "Andalucía";
  a.owner = "lucia";
  a.tags = {"vip", "wine"};
  const auto alamo = f.customer(a);

  Customer b;
  b.name = "Bodega Zurita";
  b.status = "active";
  b.relationship = "occasional";
  b.segment = "B";
  b.city = "Jerez";
  b.region = "Andalucía";
  b.owner = "pedro";
  b.tags = {"wine"};
  const auto zurita = f.customer(b);

  Customer c;
  c.name = "Casa Martín";
  c.status = "prospect";
  c.segment = "C";
  c.city = "Toledo";
  c.region = "Castilla-La Mancha";
  c.owner = "lucia";
  const auto martin = f.customer(c);

  Customer d = a;
  d.name = "Antigua Bodega";
  const auto deleted = f.customer(d);
  f.replica().remove(tables::customers, deleted);

  const auto ids = [&](CustomerFilter filter) {
    std::vector<std::string> out;
    for (const auto& customer : f.replica().list_customers(filter)) out.push_back(customer.id);
    return out;
  };
  using Ids = std::vector<std::string>;

  CHECK(ids({}) == Ids{alamo, zurita, martin});  // the case of "bodega" does not matter
  CustomerFilter filter;
  filter.status = "active";
  CHECK(ids(filter) == Ids{alamo, zurita});
  filter = {};
  filter.relationship = "occasional";
  CHECK(ids(filter) == Ids{zurita});
  filter = {};
  filter.segment = "C";
  CHECK(ids(filter) == Ids{martin});
  filter = {};
  filter.city = "Jerez";
  CHECK(ids(filter) == Ids{alamo, zurita});
  filter.city = "jerez";
  CHECK(ids(filter).empty());
  filter = {};
  filter.region = "Castilla-La Mancha";
  CHECK(ids(filter) == Ids{martin});
  filter = {};
  filter.owner = "lucia";
  CHECK(ids(filter) == Ids{alamo, martin});
  filter = {};
  filter.tag = "wine";
  CHECK(ids(filter) == Ids{alamo, zurita});
  filter.tag = "vip";
  CHECK(ids(filter) == Ids{alamo});
  filter.tag = "vi";
  CHECK(ids(filter).empty());
  filter = {};
  filter.owner = "lucia";
  filter.status = "active";
  filter.tag = "vip";
  CHECK(ids(filter) == Ids{alamo});
  filter = {};
  filter.limit = 2;
  CHECK(ids(filter) == Ids{alamo, zurita});
  filter.limit = 0;
  CHECK(ids(filter).empty());

  const auto listed = f.replica().list_customers({});
  REQUIRE(listed.size() == 3);
  CHECK(listed[0].name == "bodega Álamo");
  CHECK(listed[0].tags == TagSet{"vip", "wine"});
  CHECK(listed[0].owner == "lucia");
}

TEST_CASE(
    "children: contacts by name, interactions and purchases newest first, follow-ups by "
    "due date",
    "[queries][children]") {
  ReplicaFixture f;
  const auto id = f.customer("Ferretería Ruiz");
  f.contact(id, "Zoe");
  f.contact(id, "ana");
  const auto gone = f.contact(id, "Bruno");
  f.replica().remove(tables::contacts, gone);
  f.interaction(id, "2024-01-10T09:00:00Z");
  const auto last_visit = f.interaction(id, "2024-03-10T09:00:00Z");
  f.purchase(id, "2024-02-01", 10);
  const auto last_purchase = f.purchase(id, "2024-04-01", 20);
  f.followup(id, "2024-05-01", "later");
  const auto first_followup = f.followup(id, "2024-04-01", "sooner");

  CHECK(names_of(f.replica().contacts_of(id)) == std::vector<std::string>{"ana", "Zoe"});
  const auto interactions = f.replica().interactions_of(id);
  REQUIRE(interactions.size() == 2);
  CHECK(interactions[0].id == last_visit);
  CHECK(interactions[0].date == "2024-03-10T09:00:00Z");
  const auto purchases = f.replica().purchases_of(id);
  REQUIRE(purchases.size() == 2);
  CHECK(purchases[0].id == last_purchase);
  CHECK(purchases[0].amount == 20);
  const auto followups = f.replica().followups_of(id);
  REQUIRE(followups.size() == 2);
  CHECK(followups[0].id == first_followup);
  CHECK(followups[0].title == "sooner");

  CHECK(f.replica().contacts_of("no-such-customer").empty());
  f.replica().remove(tables::customers, id);
  CHECK(f.replica().contacts_of(id).empty());
  CHECK(f.replica().interactions_of(id).empty());
  CHECK(f.replica().purchases_of(id).empty());
  CHECK(f.replica().followups_of(id).empty());
}

// ---- Reminders -------------------------------------------------------------------------------

TEST_CASE("followups_due: due today and overdue, not future, done or of a deleted customer",
          "[queries][reminders]") {
  ReplicaFixture f;
  const auto ruiz = f.customer("Ferretería Ruiz");
  const auto gone = f.customer("Gone S.A.");
  const auto today = f.followup(ruiz, "2024-06-15", "call back");
  const auto overdue = f.followup(ruiz, "2024-06-01", "send quote");
  f.followup(ruiz, "2024-06-20", "future");
  f.followup(ruiz, "2024-06-10", "already done", true);
  const auto removed = f.followup(ruiz, "2024-06-11", "removed");
  f.replica().remove(tables::followups, removed);
  f.followup(gone, "2024-06-05", "of a deleted customer");
  f.replica().remove(tables::customers, gone);

  const auto due = f.replica().followups_due("2024-06-15");
  REQUIRE(due.size() == 2);
  CHECK(due[0].followup.id == overdue);
  CHECK(due[0].followup.title == "send quote");
  CHECK(due[0].days_overdue == 14);
  CHECK(due[0].customer_name == "Ferretería Ruiz");
  CHECK(due[1].followup.id == today);
  CHECK(due[1].days_overdue == 0);

  // Marking one done takes it off the list.
  auto done = *f.replica().followup(overdue);
  done.done = true;
  f.replica().update(done);
  CHECK(f.replica().followups_due("2024-06-15").size() == 1);
  CHECK(f.replica().followups_due("2024-05-31").empty());
}

TEST_CASE("reminders: a malformed day is an invalid value", "[queries][reminders]") {
  ReplicaFixture f;
  for (const char* bad : {"", "2024-13-01", "2024-02-30", "15/06/2024", "2024-06-15T00:00:00Z"}) {
    INFO(bad);
    CHECK_THROWS_MATCHES(f.replica().followups_due(bad), Error,
                         Catch::Predicate<Error>(
                             [](const Error& e) { return e.code() == ErrorCode::invalid_value; }));
    CHECK_THROWS_AS(f.replica().upcoming_dates(bad, 7), Error);
    CHECK_THROWS_AS(f.replica().quiet_customers(bad, 30), Error);
    CHECK_THROWS_AS(f.replica().lost_deals_to_revisit(bad), Error);
    CHECK_THROWS_AS(f.replica().behaviour("x", bad), Error);
    CHECK_THROWS_AS(f.replica().rfm(bad), Error);
  }
}

TEST_CASE("upcoming_dates: birthdays and anniversaries in the next days, across the new year",
          "[queries][reminders]") {
  ReplicaFixture f;
  Customer ana;
  ana.kind = "person";
  ana.name = "Ana Ruiz";
  ana.birthday = "1980-01-03";
  const auto ana_id = f.customer(ana);

  Customer old_co;
  old_co.name = "Old Co";
  old_co.anniversary = "2010-12-28";
  const auto old_id = f.customer(old_co);
  const auto luis = f.contact(old_id, "Luis", std::nullopt, "1975-12-31");

  Customer later;
  later.kind = "person";
  later.name = "Later";
  later.birthday = "1990-01-10";  // 13 days away
  f.customer(later);
  Customer yesterday;
  yesterday.kind = "person";
  yesterday.name = "Yesterday";
  yesterday.birthday = "1990-12-27";  // next one is a year away
  f.customer(yesterday);
  Customer gone;
  gone.kind = "person";
  gone.name = "Gone";
  gone.birthday = "1990-12-30";
  const auto gone_id = f.customer(gone);
  f.contact(gone_id, "Contact of gone", std::nullopt, "1990-12-29");
  f.replica().remove(tables::customers, gone_id);

  const auto dates = f.replica().upcoming_dates("2024-12-28", 10);
  REQUIRE(dates.size() == 3);
  CHECK(dates[0].customer_id == old_id);
  CHECK(dates[0].person == "Old Co");
  CHECK(dates[0].what == "anniversary");
  CHECK(dates[0].date == "2024-12-28");
  CHECK(dates[0].days_until == 0);
  CHECK(dates[0].years == 14);
  CHECK_FALSE(dates[0].contact_id);

  CHECK(dates[1].contact_id == luis);
  CHECK(dates[1].person == "Luis");
  CHECK(dates[1].customer_id == old_id);
  CHECK(dates[1].customer_name == "Old Co");
  CHECK(dates[1].what == "birthday");
  CHECK(dates[1].date == "2024-12-31");
  CHECK(dates[1].days_until == 3);
  CHECK(dates[1].years == 49);

  CHECK(dates[2].customer_id == ana_id);
  CHECK(dates[2].what == "birthday");
  CHECK(dates[2].date == "2025-01-03");
  CHECK(dates[2].days_until == 6);
  CHECK(dates[2].years == 45);

  CHECK(f.replica().upcoming_dates("2024-12-28", 0).size() == 1);
  CHECK(f.replica().upcoming_dates("2024-12-28", 13).size() == 4);
  CHECK(f.replica().upcoming_dates("2024-12-28", -1).empty());
}

TEST_CASE("upcoming_dates: 29 February falls on 28 February in other years",
          "[queries][reminders]") {
  ReplicaFixture f;
  Customer leap;
  leap.kind = "person";
  leap.name = "Leap Day";
  leap.birthday = "2000-02-29";
  f.customer(leap);

  auto dates = f.replica().upcoming_dates("2025-02-20", 10);
  REQUIRE(dates.size() == 1);
  CHECK(dates[0].date == "2025-02-28");
  CHECK(dates[0].days_until == 8);
  CHECK(dates[0].years == 25);

  dates = f.replica().upcoming_dates("2024-02-20", 10);
  REQUIRE(dates.size() == 1);
  CHECK(dates[0].date == "2024-02-29");
  CHECK(dates[0].days_until == 9);
  CHECK(dates[0].years == 24);

  // After 28 February of a common year, the next one is a year later.
  CHECK(f.replica().upcoming_dates("2025-03-01", 300).empty());
  dates = f.replica().upcoming_dates("2025-03-01", 366);
  REQUIRE(dates.size() == 1);
  CHECK(dates[0].date == "2026-02-28");

  // A date in the year of birth gives no age.
  dates = f.replica().upcoming_dates("2000-02-01", 30);
  REQUIRE(dates.size() == 1);
  CHECK(dates[0].date == "2000-02-29");
  CHECK_FALSE(dates[0].years);
}

TEST_CASE("quiet_customers: current customers with no interaction or purchase in N days",
          "[queries][reminders]") {
  ReplicaFixture f;
  const auto never = f.customer("Never Called", "active");
  const auto recent = f.customer("Recent Call", "active");
  f.interaction(recent, "2024-06-20T10:00:00Z");
  const auto old_visit = f.customer("Old Visit", "occasional");
  f.interaction(old_visit, "2024-03-01T10:00:00Z");
  f.purchase(old_visit, "2024-04-01", 50);  // the later of the two counts: 90 days
  const auto old_buyer = f.customer("Old Buyer", "active");
  f.purchase(old_buyer, "2024-01-01", 50);  // 181 days
  const auto boundary = f.customer("Exactly Sixty", "active");
  f.purchase(boundary, "2024-05-01", 50);  // 60 days: not more than 60
  const auto deleted_call = f.customer("Deleted Call", "active");
  const auto call = f.interaction(deleted_call, "2024-06-25T10:00:00Z");
  f.replica().remove(tables::interactions, call);
  const auto planned = f.customer("Planned Visit", "active");
  f.interaction(planned, "2024-07-15T10:00:00Z");  // after today: has not happened yet
  f.customer("A Prospect", "prospect");
  f.customer("An Inactive", "inactive");
  f.customer("A Lost One", "lost");
  const auto removed = f.customer("Removed", "active");
  f.replica().remove(tables::customers, removed);

  const auto quiet = f.replica().quiet_customers("2024-06-30", 60);
  std::vector<std::string> ids;
  for (const auto& q : quiet) ids.push_back(q.customer_id);
  CHECK(ids == std::vector<std::string>{deleted_call, never, planned, old_buyer, old_visit});
  REQUIRE(quiet.size() == 5);
  CHECK_FALSE(quiet[0].last_contact);
  CHECK_FALSE(quiet[0].days_quiet);
  CHECK(quiet[3].customer_name == "Old Buyer");
  CHECK(quiet[3].last_contact == "2024-01-01");
  CHECK(quiet[3].days_quiet == 181);
  CHECK(quiet[4].last_contact == "2024-04-01");
  CHECK(quiet[4].days_quiet == 90);
}

TEST_CASE("customers_to_review: inactive and lost customers silent for N days",
          "[queries][reminders]") {
  ReplicaFixture f;
  const auto never = f.customer("Never Seen Again", "inactive");
  const auto old_lost = f.customer("Old Lost", "lost");
  f.purchase(old_lost, "2023-01-10", 20);
  const auto recent = f.customer("Recently Lost", "lost");
  f.interaction(recent, "2024-06-01T10:00:00Z");
  Customer quiet_regular;
  quiet_regular.name = "Inactive Relationship";
  quiet_regular.status = "occasional";
  quiet_regular.relationship = "inactive";
  const auto by_relationship = f.customer(quiet_regular);
  f.customer("Active One", "active");
  f.customer("A Prospect", "prospect");

  const auto review = f.replica().customers_to_review("2024-06-30", 180);
  std::vector<std::string> ids;
  for (const auto& q : review) ids.push_back(q.customer_id);
  CHECK(ids == std::vector<std::string>{by_relationship, never, old_lost});
  CHECK(review[2].days_quiet == 537);
}

TEST_CASE("customer_listing: a page of a filtered, searched and ordered book with its total",
          "[queries][list]") {
  ReplicaFixture f;
  Customer a;
  a.name = "Zapatería Peña";
  a.status = "active";
  a.annual_revenue = 100;
  const auto pena = f.customer(a);
  f.interaction(pena, "2024-06-01T10:00:00Z");
  Customer b;
  b.name = "Álamo Muebles";
  b.status = "active";
  b.annual_revenue = 900;
  const auto alamo = f.customer(b);
  f.purchase(alamo, "2024-06-20", 10);
  f.purchase(alamo, "2024-07-20", 10);  // after today: not a contact yet
  const auto bravo = f.customer("Bravo Peñalver", "prospect");
  const auto deleted = f.customer("Borrado Peña", "active");
  f.replica().remove(tables::customers, deleted);

  const auto ids = [](const CustomerListing& listing) {
    std::vector<std::string> out;
    for (const auto& c : listing.customers) out.push_back(c.customer.id);
    return out;
  };
  CustomerQuery query;
  auto listing = f.replica().customer_listing(query, "2024-06-30");
  CHECK(listing.total == 3);
  CHECK(ids(listing) == std::vector<std::string>{alamo, bravo, pena});
  CHECK(listing.customers[0].last_contact == "2024-06-20");
  CHECK_FALSE(listing.customers[1].last_contact);

  query.sort = CustomerSort::revenue;
  CHECK(ids(f.replica().customer_listing(query, "2024-06-30")) ==
        std::vector<std::string>{alamo, pena, bravo});
  query.sort = CustomerSort::last_contact;
  CHECK(ids(f.replica().customer_listing(query, "2024-06-30")) ==
        std::vector<std::string>{bravo, pena, alamo});

  query = {};
  query.text = "pena";
  listing = f.replica().customer_listing(query, "2024-06-30");
  CHECK(listing.total == 2);
  query.filter.status = "active";
  CHECK(ids(f.replica().customer_listing(query, "2024-06-30")) == std::vector<std::string>{pena});

  // One or two letters: the names that start with them, accents and case aside.
  query = {};
  query.text = "Á";
  CHECK(ids(f.replica().customer_listing(query, "2024-06-30")) == std::vector<std::string>{alamo});
  query.text = "b";
  listing = f.replica().customer_listing(query, "2024-06-30");
  CHECK(listing.total == 1);  // not the deleted "Borrado Peña"
  CHECK(ids(listing) == std::vector<std::string>{bravo});
  query.text = "pe";  // "Peña" is not the start of a name
  CHECK(f.replica().customer_listing(query, "2024-06-30").total == 0);

  query = {};
  query.offset = 1;
  query.limit = 1;
  listing = f.replica().customer_listing(query, "2024-06-30");
  CHECK(listing.total == 3);
  CHECK(ids(listing) == std::vector<std::string>{bravo});
  query.offset = 10;
  CHECK(f.replica().customer_listing(query, "2024-06-30").customers.empty());
}

TEST_CASE("lost_deals_to_revisit: lost deals whose revisit day has come", "[queries][reminders]") {
  ReplicaFixture f;
  const auto ruiz = f.customer("Ferretería Ruiz");
  const auto gone = f.customer("Gone S.A.");
  const auto june = f.interaction(ruiz, "2024-03-01T10:00:00Z", "lost", "2024-06-01");
  const auto today = f.interaction(ruiz, "2024-02-01T10:00:00Z", "lost", "2024-06-30");
  f.interaction(ruiz, "2024-03-01T10:00:00Z", "lost", "2024-07-15");  // not yet
  f.interaction(ruiz, "2024-03-01T10:00:00Z", "won", "2024-06-01");   // not lost
  f.interaction(ruiz, "2024-03-01T10:00:00Z", "lost");                // no revisit day
  f.interaction(gone, "2024-03-01T10:00:00Z", "lost", "2024-05-01");
  f.replica().remove(tables::customers, gone);

  const auto deals = f.replica().lost_deals_to_revisit("2024-06-30");
  REQUIRE(deals.size() == 2);
  CHECK(deals[0].interaction.id == june);
  CHECK(deals[0].interaction.revisit_on == "2024-06-01");
  CHECK(deals[0].interaction.lost_reason == "price");
  CHECK(deals[0].customer_name == "Ferretería Ruiz");
  CHECK(deals[1].interaction.id == today);
  CHECK(f.replica().lost_deals_to_revisit("2024-05-31").empty());
}

// ---- Behaviour -------------------------------------------------------------------------------

TEST_CASE("behaviour: orders, spend and monthly averages from a known purchase history",
          "[queries][behaviour]") {
  ReplicaFixture f;
  const auto id = f.customer("Bodega Ruiz");
  f.purchase(id, "2024-01-10", 100, "vino");
  f.purchase(id, "2024-01-10", 50, "aceite");  // same day: the same order
  f.purchase(id, "2024-02-15", 200);
  f.purchase(id, "2024-04-01", 150);
  f.purchase(id, "2024-07-01", 999);  // after as_of: ignored
  const auto removed = f.purchase(id, "2024-03-01", 1000);
  f.replica().remove(tables::purchases, removed);

  const auto b = f.replica().behaviour(id, "2024-06-30");
  CHECK(b.customer_id == id);
  CHECK(b.purchase_count == 3);
  CHECK(b.first_purchase == "2024-01-10");
  CHECK(b.last_purchase == "2024-04-01");
  // 1 April to 30 June: 30 (April) + 31 (May) + 29 days.
  CHECK(b.days_since_last == 90);
  CHECK(b.total_spend == Approx(500));
  // 10 January to 30 June 2024: 21 + 29 + 31 + 30 + 31 + 30 = 172 days = 5.6509 months.
  REQUIRE(number("2024-06-30") - number("2024-01-10") == 172);
  const double months = 172 / 30.4375;
  CHECK(b.orders_per_month == Approx(3 / months));
  CHECK(b.orders_per_month == Approx(0.5309).epsilon(1e-3));
  CHECK(b.average_monthly_spend == Approx(500 / months));
  CHECK(b.average_monthly_spend == Approx(88.48).epsilon(1e-3));
}

TEST_CASE("behaviour: a short history counts as one month; no purchases gives zeros",
          "[queries][behaviour]") {
  ReplicaFixture f;
  const auto id = f.customer("Nueva");
  f.purchase(id, "2024-06-20", 120);
  f.purchase(id, "2024-06-25", 80);
  auto b = f.replica().behaviour(id, "2024-06-30");
  CHECK(b.purchase_count == 2);
  CHECK(b.days_since_last == 5);
  CHECK(b.orders_per_month == Approx(2));
  CHECK(b.average_monthly_spend == Approx(200));

  b = f.replica().behaviour(id, "2024-06-19");  // before the first purchase
  CHECK(b.purchase_count == 0);
  CHECK_FALSE(b.first_purchase);
  CHECK_FALSE(b.last_purchase);
  CHECK_FALSE(b.days_since_last);
  CHECK(b.total_spend == 0);
  CHECK(b.orders_per_month == 0);
  CHECK(b.average_monthly_spend == 0);

  const auto none = f.replica().behaviour(f.customer("Sin compras"), "2024-06-30");
  CHECK(none.purchase_count == 0);
  CHECK_FALSE(none.last_purchase);
  CHECK(none.total_spend == 0);
}

// ---- RFM -------------------------------------------------------------------------------------

TEST_CASE("rfm: fixed thresholds on a small book give the known segments", "[queries][rfm]") {
  ReplicaFixture f;
  const char* as_of = "2024-06-30";
  const std::int64_t today = number(as_of);
  std::map<std::string, std::string> expected;  // name -> segment

  // Monthly for a year up to last week: R 5 (7 days), F 5 (12 orders), M 3 (1200).
  const auto champ = f.customer("Champ");
  for (int k = 0; k < 12; ++k) f.purchase(champ, day(today - 7 - 30 * k), 100);
  expected["Champ"] = "champions";
  // Bought a lot long ago: R 1, F 5, M 5.
  const auto ancient = f.customer("Ancient");
  for (int k = 0; k < 12; ++k) f.purchase(ancient, day(number("2021-01-15") + 20 * k), 1000);
  expected["Ancient"] = "cant_lose";
  // Four orders, the last 212 days ago: R 2, F 3.
  const auto lapsed = f.customer("Lapsed");
  for (const char* d : {"2023-09-01", "2023-10-01", "2023-11-01", "2023-12-01"}) {
    f.purchase(lapsed, d, 500);
  }
  expected["Lapsed"] = "at_risk";
  f.purchase(f.customer("Newbie"), "2024-06-20", 80);  // R 5, F 1
  expected["Newbie"] = "new";
  f.purchase(f.customer("Promise"), "2024-05-01", 80);  // 60 days: R 4, F 1
  expected["Promise"] = "promising";
  const auto loyal = f.customer("Loyal");  // six orders, the last 121 days ago: R 3, F 4
  for (int k = 0; k < 6; ++k) f.purchase(loyal, day(number("2024-03-01") - 30 * k), 300);
  expected["Loyal"] = "loyal";
  f.purchase(f.customer("Sleepy"), "2024-02-01", 80);  // 150 days: R 3, F 1
  expected["Sleepy"] = "about_to_sleep";
  f.purchase(f.customer("Gone"), "2022-01-01", 80);  // R 1, F 1
  expected["Gone"] = "lost";
  const auto hibernating = f.customer("Hibernating");  // 273 days: R 2, F 2
  f.purchase(hibernating, "2023-09-01", 80);
  f.purchase(hibernating, "2023-10-01", 80);
  expected["Hibernating"] = "hibernating";
  const auto potential = f.customer("Potential");  // R 5, F 3
  for (const char* d : {"2024-04-01", "2024-05-01", "2024-06-01"}) f.purchase(potential, d, 80);
  expected["Potential"] = "potential_loyalist";
  const auto attention = f.customer("Attention");  // 136 days: R 3, F 2
  f.purchase(attention, "2024-01-15", 80);
  f.purchase(attention, "2024-02-15", 80);
  expected["Attention"] = "need_attention";

  // Not in the report: no purchase, only purchases after as_of, deleted.
  f.customer("No purchases");
  f.purchase(f.customer("Future"), "2024-07-01", 80);
  const auto removed = f.customer("Removed");
  f.purchase(removed, "2024-06-01", 80);
  f.replica().remove(tables::customers, removed);

  const auto report = f.replica().rfm(as_of);
  CHECK_FALSE(report.quintiles);
  REQUIRE(report.customers.size() == expected.size());
  std::vector<std::string> order;
  for (const auto& score : report.customers) {
    INFO(score.customer_name);
    CHECK(score.segment == expected.at(score.customer_name));
    order.push_back(score.customer_name);
  }
  CHECK(order == std::vector<std::string>{"Champ", "Loyal", "Potential", "Newbie", "Promise",
                                          "Attention", "Sleepy", "Ancient", "Lapsed", "Hibernating",
                                          "Gone"});

  const auto& top = report.customers[0];
  CHECK(top.customer_id == champ);
  CHECK(top.recency_days == 7);
  CHECK(top.frequency == 12);
  CHECK(top.monetary == Approx(1200));
  CHECK((top.r == 5 && top.f == 5 && top.m == 3));
  const auto& ancient_score = report.customers[7];
  CHECK(ancient_score.customer_id == ancient);
  CHECK((ancient_score.r == 1 && ancient_score.f == 5 && ancient_score.m == 5));
  const auto& lapsed_score = report.customers[8];
  CHECK(lapsed_score.recency_days == 212);
  CHECK((lapsed_score.r == 2 && lapsed_score.f == 3 && lapsed_score.m == 3));
}

TEST_CASE("rfm: with 50 buyers or more, scores are quintiles of the book", "[queries][rfm]") {
  ReplicaFixture f;
  const char* as_of = "2024-06-30";
  const std::int64_t today = number(as_of);
  const std::size_t n = kRfmMinCustomersForQuintiles;  // 50
  std::map<std::string, int> index;                    // customer id -> i
  for (std::size_t i = 0; i < n; ++i) {
    // Recency 1 + 5i days and monetary 1000 + 37i, all different; frequency 1..10, five
    // customers each, so ties must stay together: 1-2 -> F1, 3-4 -> F2 ... 9-10 -> F5.
    const auto id = f.customer("Buyer " + std::to_string(100 + i));
    index[id] = static_cast<int>(i);
    const int orders = static_cast<int>(i % 10) + 1;
    const double total = 1000 + 37.0 * static_cast<double>(i);
    const std::int64_t last = today - 1 - 5 * static_cast<std::int64_t>(i);
    for (int k = 0; k < orders; ++k) f.purchase(id, day(last - k), total / orders);
  }

  const auto report = f.replica().rfm(as_of);
  CHECK(report.quintiles);
  REQUIRE(report.customers.size() == n);
  std::map<int, int> r_count, f_count, m_count;
  for (const auto& score : report.customers) {
    const int i = index.at(score.customer_id);
    INFO("buyer " << i);
    CHECK(score.recency_days == 1 + 5 * i);
    CHECK(score.frequency == static_cast<std::size_t>(i % 10 + 1));
    CHECK(score.monetary == Approx(1000 + 37.0 * i));
    // Quintile of the sorted position: the 10 most recent get R 5, the 10 biggest M 5.
    CHECK(score.r == 5 - i / 10);
    CHECK(score.m == 1 + i / 10);
    CHECK(score.f == 1 + (i % 10) / 2);
    ++r_count[score.r];
    ++f_count[score.f];
    ++m_count[score.m];
  }
  for (int s = 1; s <= 5; ++s) {
    INFO("score " << s);
    CHECK(r_count[s] == 10);
    CHECK(f_count[s] == 10);
    CHECK(m_count[s] == 10);
  }
  // Report order: segment, then monetary, biggest first.
  for (std::size_t k = 1; k < report.customers.size(); ++k) {
    const auto& a = report.customers[k - 1];
    const auto& b = report.customers[k];
    if (a.segment == b.segment) CHECK(a.monetary >= b.monetary);
  }
  CHECK(report.customers.front().segment == "champions");

  // One buyer fewer and the book falls back to fixed thresholds.
  f.replica().remove(tables::customers, report.customers.back().customer_id);
  CHECK_FALSE(f.replica().rfm(as_of).quintiles);
}

}  // namespace
