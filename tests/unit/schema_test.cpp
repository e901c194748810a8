// The customer book schema, the validation of each field kind, the typed entities'
// conversion to records, and the calendar helpers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/schema.hpp"

namespace libreta {
namespace {

const FieldSpec& book_field(std::string_view table, std::string_view field) {
  const TableSpec* spec = customer_book_schema().table(table);
  REQUIRE(spec != nullptr);
  const FieldSpec* found = spec->field(field);
  INFO(table << "." << field);
  REQUIRE(found != nullptr);
  return *found;
}

FieldSpec spec_of(FieldKind kind, std::vector<std::string> choices = {}) {
  FieldSpec spec;
  spec.name = "f";
  spec.kind = kind;
  spec.choices = std::move(choices);
  return spec;
}

// The canonical form of `value`, failing the test if it is refused.
Value accepted(const FieldSpec& spec, const Value& value) {
  auto result = spec.validate(value);
  INFO(field_kind_name(spec.kind) << " field refused a value: "
                                  << (result ? "" : result.error().what()));
  REQUIRE(result.ok());
  return result.value();
}

ErrorCode refused(const FieldSpec& spec, const Value& value) {
  auto result = spec.validate(value);
  INFO(field_kind_name(spec.kind) << " field accepted a value it should refuse");
  REQUIRE_FALSE(result.ok());
  return result.error().code();
}

std::vector<std::string> choices_of(std::string_view table, std::string_view field) {
  const FieldSpec& spec = book_field(table, field);
  CHECK(spec.kind == FieldKind::choice);
  return spec.choices;
}

// --- The customer book ---

TEST_CASE("schema: the customer book has the five tables of the domain", "[schema]") {
  const Schema& schema = customer_book_schema();
  CHECK(schema.version() == kCustomerBookSchemaVersion);
  std::vector<std::string> names;
  for (const auto& table : schema.tables()) names.push_back(table.name);
  CHECK(names == std::vector<std::string>{"customers", "contacts", "interactions", "purchases",
                                          "followups"});
  CHECK(schema.table("customers") != nullptr);
  CHECK(schema.table("invoices") == nullptr);
  CHECK(schema.table("Customers") == nullptr);
}

TEST_CASE("schema: every table but customers belongs to a customer through customer_id",
          "[schema]") {
  const Schema& schema = customer_book_schema();
  CHECK(schema.table(tables::customers)->owner_link.empty());
  for (const char* name :
       {tables::contacts, tables::interactions, tables::purchases, tables::followups}) {
    INFO(name);
    const TableSpec* table = schema.table(name);
    REQUIRE(table != nullptr);
    CHECK(table->owner_link == "customer_id");
    const FieldSpec& link = book_field(name, "customer_id");
    CHECK(link.kind == FieldKind::reference);
    CHECK(link.references == tables::customers);
    CHECK(link.required);
  }
}

TEST_CASE("schema: field names are unique per table and never the delete pseudo-field",
          "[schema]") {
  for (const auto& table : customer_book_schema().tables()) {
    std::set<std::string> names;
    for (const auto& field : table.fields) {
      INFO(table.name << "." << field.name);
      CHECK(names.insert(field.name).second);
      CHECK(field.name != "deleted");
      CHECK(field.name != "id");
      if (field.kind == FieldKind::choice) CHECK_FALSE(field.choices.empty());
      if (field.kind == FieldKind::reference) {
        CHECK(customer_book_schema().table(field.references) != nullptr);
      }
    }
  }
}

TEST_CASE("schema: customers hold the fields the domain requires", "[schema]") {
  CHECK(book_field("customers", "name").required);
  CHECK(book_field("customers", "tax_id").kind == FieldKind::text);
  CHECK(book_field("customers", "email").kind == FieldKind::email);
  CHECK(book_field("customers", "phone").kind == FieldKind::phone);
  CHECK(book_field("customers", "mobile").kind == FieldKind::phone);
  CHECK(book_field("customers", "tags").kind == FieldKind::tag_set);
  CHECK(book_field("customers", "quality_rank").kind == FieldKind::integer);
  CHECK(book_field("customers", "annual_revenue").kind == FieldKind::decimal);
  CHECK(book_field("customers", "notes").kind == FieldKind::long_text);
  CHECK(book_field("customers", "status").required);
  CHECK(choices_of("customers", "status") ==
        std::vector<std::string>{"prospect", "active", "occasional", "inactive", "lost"});
  CHECK(choices_of("customers", "relationship") ==
        std::vector<std::string>{"active", "regular", "occasional", "inactive"});
  CHECK(choices_of("customers", "kind") == std::vector<std::string>{"company", "person"});
}

TEST_CASE("schema: contacts, interactions, purchases and followups hold their domain fields",
          "[schema]") {
  CHECK(book_field("contacts", "birthday").kind == FieldKind::date);
  CHECK(book_field("contacts", "name").required);
  CHECK(book_field("interactions", "date").kind == FieldKind::date_time);
  CHECK(book_field("interactions", "revisit_on").kind == FieldKind::date);
  CHECK(book_field("interactions", "lost_reason").kind == FieldKind::text);
  const auto outcomes = choices_of("interactions", "outcome");
  CHECK(std::find(outcomes.begin(), outcomes.end(), "lost") != outcomes.end());
  CHECK(book_field("purchases", "amount").kind == FieldKind::decimal);
  CHECK(book_field("purchases", "amount").required);
  CHECK(book_field("purchases", "date").kind == FieldKind::date);
  CHECK(book_field("followups", "due").kind == FieldKind::date);
  CHECK(book_field("followups", "due").required);
  CHECK(book_field("followups", "done").kind == FieldKind::boolean);
}

// --- Validation per kind ---

TEST_CASE("validate: null is accepted by every kind", "[validate]") {
  for (FieldKind kind :
       {FieldKind::text, FieldKind::long_text, FieldKind::integer, FieldKind::decimal,
        FieldKind::date, FieldKind::date_time, FieldKind::choice, FieldKind::tag_set,
        FieldKind::boolean, FieldKind::reference, FieldKind::email, FieldKind::phone}) {
    INFO(field_kind_name(kind));
    CHECK(accepted(spec_of(kind, {"x"}), Value()).is_null());
  }
}

TEST_CASE("validate: text is trimmed, and blank text becomes null", "[validate]") {
  const FieldSpec text = spec_of(FieldKind::text);
  CHECK(accepted(text, "  Acme S.A. \t") == Value("Acme S.A."));
  CHECK(accepted(text, "inner  spaces stay") == Value("inner  spaces stay"));
  CHECK(accepted(text, "").is_null());
  CHECK(accepted(text, "   \t ").is_null());
  CHECK(accepted(text, "Peña Núñez") == Value("Peña Núñez"));
}

TEST_CASE("validate: text over its length limit is refused as too large", "[validate]") {
  const FieldSpec text = spec_of(FieldKind::text);
  CHECK(accepted(text, std::string(kMaxTextLength, 'x')).as_text().size() == kMaxTextLength);
  CHECK(refused(text, std::string(kMaxTextLength + 1, 'x')) == ErrorCode::too_large);

  const FieldSpec notes = spec_of(FieldKind::long_text);
  CHECK(accepted(notes, std::string(kMaxLongTextLength, 'x')).is_text());
  CHECK(refused(notes, std::string(kMaxLongTextLength + 1, 'x')) == ErrorCode::too_large);

  FieldSpec short_text = spec_of(FieldKind::text);
  short_text.max_length = 5;
  CHECK(accepted(short_text, "abcde") == Value("abcde"));
  CHECK(refused(short_text, "abcdef") == ErrorCode::too_large);
}

TEST_CASE("validate: invalid UTF-8 and control characters are refused", "[validate]") {
  const FieldSpec text = spec_of(FieldKind::text);
  CHECK(refused(text, std::string("caf\xe9")) == ErrorCode::invalid_value);       // Latin-1 é
  CHECK(refused(text, std::string("\xc3")) == ErrorCode::invalid_value);          // truncated
  CHECK(refused(text, std::string("\xc0\xaf")) == ErrorCode::invalid_value);      // overlong '/'
  CHECK(refused(text, std::string("\xed\xa0\x80")) == ErrorCode::invalid_value);  // surrogate
  CHECK(refused(text, std::string("\xf4\x90\x80\x80")) == ErrorCode::invalid_value);  // >10FFFF
  CHECK(refused(text, std::string("\xff")) == ErrorCode::invalid_value);
  CHECK(refused(text, std::string("a\0b", 3)) == ErrorCode::invalid_value);
  CHECK(refused(text, "bell\a") == ErrorCode::invalid_value);
  CHECK(accepted(text, "\xf0\x9f\x98\x80 emoji") == Value("\xf0\x9f\x98\x80 emoji"));
}

TEST_CASE("validate: only long text may span lines", "[validate]") {
  CHECK(refused(spec_of(FieldKind::text), "two\nlines") == ErrorCode::invalid_value);
  CHECK(accepted(spec_of(FieldKind::long_text), "two\nlines\r\n") == Value("two\nlines"));
}

TEST_CASE("validate: a choice outside its list is refused, naming the allowed values",
          "[validate]") {
  const FieldSpec& status = book_field("customers", "status");
  CHECK(accepted(status, " active ") == Value("active"));
  auto result = status.validate("gone");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code() == ErrorCode::invalid_value);
  const std::string message = result.error().what();
  CHECK_THAT(message, Catch::Contains("status"));
  CHECK_THAT(message, Catch::Contains("gone"));
  CHECK_THAT(message, Catch::Contains("prospect, active, occasional, inactive, lost"));
  CHECK(refused(status, "Active") == ErrorCode::invalid_value);  // choices are exact
}

TEST_CASE("validate: a date must be a real calendar day", "[validate]") {
  const FieldSpec date = spec_of(FieldKind::date);
  CHECK(accepted(date, "2024-02-29") == Value("2024-02-29"));
  CHECK(accepted(date, "2000-02-29") == Value("2000-02-29"));
  CHECK(accepted(date, " 2023-12-31 ") == Value("2023-12-31"));
  for (const char* bad : {"2023-02-29", "1900-02-29", "2023-04-31", "2023-13-01", "2023-00-10",
                          "2023-01-00", "0000-01-01", "2023-1-01", "2023/01/01", "20230101",
                          "2023-01-01T00:00:00Z", "yesterday", "2023-01-0a"}) {
    INFO(bad);
    CHECK(refused(date, bad) == ErrorCode::invalid_value);
  }
  CHECK(refused(date, 20230101) == ErrorCode::wrong_type);
}

TEST_CASE("validate: a date-time is UTC, and a bare date means its midnight", "[validate]") {
  const FieldSpec date_time = spec_of(FieldKind::date_time);
  CHECK(accepted(date_time, "2024-03-01T10:20:30Z") == Value("2024-03-01T10:20:30Z"));
  CHECK(accepted(date_time, "2024-03-01T10:20:30.123Z") == Value("2024-03-01T10:20:30.123Z"));
  CHECK(accepted(date_time, "2024-03-01") == Value("2024-03-01T00:00:00Z"));
  for (const char* bad : {"2024-03-01T10:20:30", "2024-03-01 10:20:30Z", "2024-03-01T24:00:00Z",
                          "2024-03-01T10:60:00Z", "2024-03-01T10:20:30+01:00",
                          "2023-02-29T10:00:00Z", "2024-03-01T10:20:30.1Z", "2023-02-29"}) {
    INFO(bad);
    CHECK(refused(date_time, bad) == ErrorCode::invalid_value);
  }
}

TEST_CASE("validate: email addresses", "[validate]") {
  const FieldSpec email = spec_of(FieldKind::email);
  CHECK(accepted(email, " ana@example.com ") == Value("ana@example.com"));
  CHECK(accepted(email, "a.b+c@mail.example.co") == Value("a.b+c@mail.example.co"));
  for (const char* bad :
       {"ana", "ana@", "@example.com", "ana@example", "ana@@example.com", "ana@b@example.com",
        "ana@.com", "ana@example.com.", "ana maria@example.com"}) {
    INFO(bad);
    CHECK(refused(email, bad) == ErrorCode::invalid_value);
  }
}

TEST_CASE("validate: phone numbers", "[validate]") {
  const FieldSpec phone = spec_of(FieldKind::phone);
  CHECK(accepted(phone, "+34 912-345 678") == Value("+34 912-345 678"));
  CHECK(accepted(phone, "(01) 555.1234") == Value("(01) 555.1234"));
  CHECK(accepted(phone, "123") == Value("123"));
  for (const char* bad :
       {"12", "call me", "912 345 678 ext 2", "34+912345678", "++34912", "123456789012345678901"}) {
    INFO(bad);
    CHECK(refused(phone, bad) == ErrorCode::invalid_value);
  }
}

TEST_CASE("validate: integers are whole numbers, decimals any finite number", "[validate]") {
  const FieldSpec integer = spec_of(FieldKind::integer);
  CHECK(accepted(integer, 3) == Value(3));
  CHECK(accepted(integer, 4.0) == Value(4));
  CHECK(accepted(integer, 4.0).is_integer());
  CHECK(refused(integer, 4.5) == ErrorCode::invalid_value);
  CHECK(refused(integer, "4") == ErrorCode::wrong_type);
  CHECK(refused(integer, true) == ErrorCode::wrong_type);

  const FieldSpec decimal = spec_of(FieldKind::decimal);
  CHECK(accepted(decimal, 12.5) == Value(12.5));
  const Value from_integer = accepted(decimal, 7);
  CHECK(from_integer.type() == Value::Type::number);
  CHECK(from_integer.as_number() == 7.0);
  CHECK(refused(decimal, "12.5") == ErrorCode::wrong_type);
  CHECK(refused(decimal, std::numeric_limits<double>::infinity()) == ErrorCode::invalid_value);
  CHECK(refused(decimal, std::numeric_limits<double>::quiet_NaN()) == ErrorCode::invalid_value);
}

TEST_CASE("validate: booleans, references and wrong types", "[validate]") {
  CHECK(accepted(spec_of(FieldKind::boolean), true) == Value(true));
  CHECK(refused(spec_of(FieldKind::boolean), 1) == ErrorCode::wrong_type);
  CHECK(refused(spec_of(FieldKind::boolean), "true") == ErrorCode::wrong_type);
  CHECK(accepted(spec_of(FieldKind::reference), " row-1 ") == Value("row-1"));
  CHECK(refused(spec_of(FieldKind::text), 5) == ErrorCode::wrong_type);
  CHECK(refused(spec_of(FieldKind::text), TagSet{"a"}) == ErrorCode::wrong_type);
}

TEST_CASE("validate: a tag set is trimmed, sorted and without duplicates or blanks", "[validate]") {
  const FieldSpec tags = spec_of(FieldKind::tag_set);
  CHECK(accepted(tags, TagSet{"wholesale", " vip", "north", "vip ", "", "  ", "north"}) ==
        Value(TagSet{"north", "vip", "wholesale"}));
  CHECK(accepted(tags, TagSet{}) == Value(TagSet{}));
  CHECK(refused(tags, "vip") == ErrorCode::wrong_type);
  CHECK(refused(tags, TagSet{std::string(kMaxTagLength + 1, 'x')}) == ErrorCode::invalid_value);
  CHECK(refused(tags, TagSet{"new\nline"}) == ErrorCode::invalid_value);

  TagSet many;
  for (std::size_t i = 0; i <= kMaxTagsPerSet; ++i) many.push_back("t" + std::to_string(i));
  CHECK(refused(tags, many) == ErrorCode::too_large);
  many.pop_back();
  CHECK(accepted(tags, many).as_tags().size() == kMaxTagsPerSet);
}

// --- Typed entities and records ---

Customer full_customer() {
  Customer c;
  c.id = "c-1";
  c.kind = "person";
  c.name = "José Peña";
  c.trade_name = "Peña Hermanos";
  c.tax_id = "B12345678";
  c.fiscal_regime = "general";
  c.billing_address = "Calle Mayor 1";
  c.shipping_address = "Polígono 3";
  c.postal_code = "28001";
  c.city = "Madrid";
  c.region = "Madrid";
  c.country = "ES";
  c.phone = "+34 912 345 678";
  c.mobile = "600 000 000";
  c.email = "jose@example.com";
  c.website = "https://example.com";
  c.status = "active";
  c.relationship = "regular";
  c.segment = "A";
  c.quality_rank = 2;
  c.owner = "ana";
  c.territory = "centro";
  c.annual_revenue = 125000.5;
  c.purchase_potential = "alto";
  c.socioeconomic_level = "C1";
  c.products_services = "Aceite, vino";
  c.tags = {"vip", "wholesale"};
  c.notes = "Prefers mornings";
  c.birthday = "1970-05-17";
  c.anniversary = "2015-01-10";
  c.created_at = "2024-01-02T03:04:05Z";
  c.updated_at = "2024-02-03T04:05:06Z";
  return c;
}

Contact full_contact() {
  Contact c;
  c.id = "p-1";
  c.customer_id = "c-1";
  c.name = "Lucía";
  c.role = "buyer";
  c.address = "Calle Menor 2";
  c.mobile = "611 111 111";
  c.phone = "912 000 000";
  c.email = "lucia@example.com";
  c.social = "@lucia";
  c.socioeconomic_level = "B";
  c.birthday = "1985-12-01";
  c.anniversary = "2020-06-15";
  c.personal_notes = "Two children; likes football";
  c.tags = {"decision-maker"};
  return c;
}

Interaction full_interaction() {
  Interaction i;
  i.id = "i-1";
  i.customer_id = "c-1";
  i.contact_id = "p-1";
  i.type = "quote";
  i.date = "2024-03-01T10:00:00Z";
  i.outcome = "lost";
  i.lost_reason = "price";
  i.revisit_on = "2024-09-01";
  i.amount = 950.25;
  i.notes = "Competitor was 10% cheaper";
  return i;
}

Purchase full_purchase() {
  Purchase p;
  p.id = "u-1";
  p.customer_id = "c-1";
  p.date = "2024-03-02";
  p.product = "Olive oil 5L";
  p.quantity = 12;
  p.amount = 240.0;
  p.notes = "Paid cash";
  return p;
}

FollowUp full_followup() {
  FollowUp f;
  f.id = "f-1";
  f.customer_id = "c-1";
  f.contact_id = "p-1";
  f.interaction_id = "i-1";
  f.due = "2024-03-10";
  f.title = "Call back";
  f.notes = "Ask about the new catalogue";
  f.done = true;
  f.done_at = "2024-03-09T08:00:00Z";
  return f;
}

// A fully filled entity's record names every field of its table and nothing else, each value
// is already canonical, and converting back and forth loses nothing.
template <class Entity>
void check_record_round_trip(const Entity& entity) {
  const TableSpec* table = customer_book_schema().table(EntityTable<Entity>::name);
  REQUIRE(table != nullptr);
  const Record record = to_record(entity);
  for (const auto& field : table->fields) {
    INFO(table->name << "." << field.name << " is missing from the record");
    CHECK(record.count(field.name) == 1);
  }
  for (const auto& [name, value] : record) {
    INFO(table->name << "." << name);
    const FieldSpec* spec = table->field(name);
    REQUIRE(spec != nullptr);
    auto canonical = spec->validate(value);
    REQUIRE(canonical.ok());
    CHECK(canonical.value() == value);
  }

  Entity back;
  from_record(record, back);
  CHECK(to_record(back) == record);
}

TEST_CASE("entities: a customer converts to a record and back", "[entities]") {
  const Customer customer = full_customer();
  check_record_round_trip(customer);
  Customer back;
  from_record(to_record(customer), back);
  CHECK(back.name == "José Peña");
  CHECK(back.tax_id == customer.tax_id);
  CHECK(back.quality_rank == 2);
  CHECK(back.annual_revenue == 125000.5);
  CHECK(back.tags == TagSet{"vip", "wholesale"});
  CHECK(back.birthday == "1970-05-17");
  CHECK(back.id.empty());  // the id is the row's key, not a field
}

TEST_CASE("entities: a contact converts to a record and back", "[entities]") {
  check_record_round_trip(full_contact());
}

TEST_CASE("entities: an interaction converts to a record and back", "[entities]") {
  const Interaction interaction = full_interaction();
  check_record_round_trip(interaction);
  Interaction back;
  from_record(to_record(interaction), back);
  CHECK(back.lost_reason == "price");
  CHECK(back.revisit_on == "2024-09-01");
  CHECK(back.amount == 950.25);
}

TEST_CASE("entities: a purchase converts to a record and back", "[entities]") {
  check_record_round_trip(full_purchase());
}

TEST_CASE("entities: a follow-up converts to a record and back", "[entities]") {
  const FollowUp followup = full_followup();
  check_record_round_trip(followup);
  FollowUp back;
  from_record(to_record(followup), back);
  CHECK(back.done);
  CHECK(back.due == "2024-03-10");
}

TEST_CASE("entities: unset optionals are left out of the record", "[entities]") {
  Customer customer;
  customer.name = "Acme";
  const Record record = to_record(customer);
  CHECK(record == Record{{"kind", "company"}, {"name", "Acme"}, {"status", "prospect"}});
}

TEST_CASE("entities: from_record clears what the record lacks and ignores unknown fields",
          "[entities]") {
  Customer customer = full_customer();
  from_record(Record{{"name", "Acme"}, {"email", nullptr}, {"future_field", 3}}, customer);
  CHECK(customer.name == "Acme");
  CHECK_FALSE(customer.email);
  CHECK_FALSE(customer.tax_id);
  CHECK(customer.tags.empty());
}

// --- Calendar helpers ---

TEST_CASE("calendar: days_from_civil counts days since 1970-01-01", "[calendar]") {
  CHECK(days_from_civil(1970, 1, 1) == 0);
  CHECK(days_from_civil(1970, 1, 2) == 1);
  CHECK(days_from_civil(1969, 12, 31) == -1);
  CHECK(days_from_civil(2000, 3, 1) == 11017);
  CHECK(days_from_civil(2024, 2, 29) == 19782);
  CHECK(civil_from_days(0) == "1970-01-01");
  CHECK(civil_from_days(-1) == "1969-12-31");
  CHECK(civil_from_days(19782) == "2024-02-29");
}

TEST_CASE("calendar: days and dates round-trip over four centuries", "[calendar]") {
  // Walk every day from 1800-01-01 to 2200-12-31 with an independent calendar.
  const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  std::int64_t expected = days_from_civil(1800, 1, 1);
  int mismatches = 0;
  for (int year = 1800; year <= 2200; ++year) {
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    for (int month = 1; month <= 12; ++month) {
      const int days = month_days[month - 1] + (month == 2 && leap ? 1 : 0);
      for (int day = 1; day <= days; ++day) {
        char text[40];
        std::snprintf(text, sizeof text, "%04d-%02d-%02d", year, month, day);
        if (days_from_civil(year, month, day) != expected || civil_from_days(expected) != text ||
            parse_day_number(text) != expected || !is_valid_date(text)) {
          if (++mismatches < 5) FAIL_CHECK("mismatch at " << text);
        }
        ++expected;
      }
    }
  }
  CHECK(mismatches == 0);
  CHECK(expected == days_from_civil(2201, 1, 1));
}

TEST_CASE("calendar: parse_day_number reads a date or the date part of a date-time", "[calendar]") {
  CHECK(parse_day_number("1970-01-01") == 0);
  CHECK(parse_day_number("2024-02-29") == 19782);
  CHECK(parse_day_number("2024-02-29T23:59:59Z") == 19782);
  CHECK_FALSE(parse_day_number("2023-02-29"));
  CHECK_FALSE(parse_day_number("2024-2-29"));
  CHECK_FALSE(parse_day_number(""));
  CHECK_FALSE(parse_day_number("not a date"));
}

}  // namespace
}  // namespace libreta
