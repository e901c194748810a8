#include "workload.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

#include "libreta/protocol/hlc.hpp"
#include "libreta/protocol/ids.hpp"
#include "libreta/protocol/schema.hpp"
#include "libreta/protocol/text.hpp"
#include "libreta/protocol/value_json.hpp"
#include "workload_data.hpp"

namespace libreta::workload {
namespace {

// Salts keep the customer and edit streams apart for the same index.
constexpr std::uint64_t kCustomerSalt = 0x637573746f6d6572ULL;  // "customer"
constexpr std::uint64_t kEditSalt = 0x65646974732d2d2dULL;      // "edits---"

using namespace data;

// An entry of `table` (each with a `weight`), drawn with one draw of `rng`.
template <class Table>
const auto& pick_entry(Rng& rng, const Table& table) {
  int total = 0;
  for (const auto& entry : table) total += entry.weight;
  int roll = static_cast<int>(rng.below(static_cast<std::size_t>(total)));
  for (const auto& entry : table) {
    if (roll < entry.weight) return entry;
    roll -= entry.weight;
  }
  return *std::rbegin(table);
}

template <class T, std::size_t N>
const T& pick_weighted(Rng& rng, const Weighted<T> (&table)[N]) {
  return pick_entry(rng, table).value;
}

template <class T, std::size_t N>
const T& pick(Rng& rng, const T (&table)[N]) {
  return table[rng.below(N)];
}

// ---- Drawing values -----------------------------------------------------------------------

std::string digits(Rng& rng, std::size_t count) {
  std::string text;
  for (std::size_t i = 0; i < count; ++i) text += static_cast<char>('0' + rng.below(10));
  return text;
}

// "+34 ddd ddd ddd" from nine digits.
std::string spanish_phone(const std::string& nine) {
  return "+34 " + nine.substr(0, 3) + " " + nine.substr(3, 3) + " " + nine.substr(6, 3);
}

std::string draw_phone(Rng& rng, const City& city) {
  const std::string prefix = city.phone_prefix;
  return spanish_phone(prefix + digits(rng, 9 - prefix.size()));
}

std::string draw_mobile(Rng& rng) {
  std::string prefix = rng.percent(85) ? "6" : "7" + std::to_string(rng.between(1, 4));
  return spanish_phone(prefix + digits(rng, 9 - prefix.size()));
}

// Lowercase ASCII letters and digits only: "Ferretería Peña" -> "ferreteriapena".
std::string slug(std::string_view text) {
  std::string out;
  for (char c : fold_text(text)) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out += c;
  }
  return out;
}

struct CompanyName {
  std::string name;
  std::string domain;  // for its email
  char cif_letter;
};

CompanyName draw_company_name(Rng& rng) {
  const std::string activity = pick(rng, kActivities);
  const std::string surname = pick(rng, kSurnames);
  std::string name = activity + " " + surname;
  std::string domain = slug(activity) + slug(surname);
  if (rng.percent(30)) {
    const std::string partner = pick(rng, kSurnames);
    name += " y " + partner;
    domain = slug(surname) + "y" + slug(partner);
  }
  const LegalForm& form = pick_weighted(rng, kLegalForms);
  name += " ";
  name += form.suffix;
  return {std::move(name), std::move(domain), form.cif_letter};
}

struct PersonName {
  std::string first, surname1, surname2;
  std::string full() const { return first + " " + surname1 + " " + surname2; }
};

PersonName draw_person_name(Rng& rng) {
  return {pick(rng, kFirstNames), pick(rng, kSurnames), pick(rng, kSurnames)};
}

std::string company_email(Rng& rng, const std::string& domain) {
  return std::string(pick_weighted(rng, kCompanyMailboxes)) + "@" + domain + ".es";
}

std::string person_email(Rng& rng, const PersonName& person) {
  char number[3];
  std::snprintf(number, sizeof number, "%02d", static_cast<int>(rng.below(100)));
  return slug(person.first) + "." + slug(person.surname1) + number + "@" +
         pick(rng, kEmailProviders);
}

// The CIF control digit of seven digits (for letters whose control is a digit).
char cif_control(const std::string& seven) {
  int sum = 0;
  for (std::size_t i = 0; i < 7; ++i) {
    const int d = seven[i] - '0';
    if (i % 2 == 1) {
      sum += d;
    } else {
      const int doubled = 2 * d;
      sum += doubled / 10 + doubled % 10;
    }
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

std::string draw_cif(Rng& rng, char letter) {
  std::string seven = std::to_string(rng.between(1, 99)) + digits(rng, 5);
  if (seven.size() == 6) seven = "0" + seven;
  return std::string(1, letter) + seven + cif_control(seven);
}

std::string draw_dni(Rng& rng) {
  static constexpr char kLetters[] = "TRWAGMYFPDXBNJZSQVHLCKE";
  const auto number = rng.between(1'000'000, 99'999'999);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%08lld%c", static_cast<long long>(number),
                kLetters[number % 23]);
  return buffer;
}

std::string draw_address(Rng& rng, const City& city) {
  std::string address = pick_weighted(rng, kStreetTypes);
  address += " ";
  address += pick(rng, kStreetNames);
  address += " " + std::to_string(rng.between(1, 180));
  if (rng.percent(60)) {
    address += ", " + std::to_string(rng.between(1, 8)) + "º " + pick(rng, kDoors);
  }
  char postal[8];
  std::snprintf(postal, sizeof postal, "%03d", static_cast<int>(rng.between(1, 80)));
  address += ", ";
  address += city.postal_prefix;
  address += postal;
  address += " ";
  address += city.name;
  return address;
}

// Sentences without repeats until about 200 characters.
std::string draw_notes(Rng& rng) {
  constexpr std::size_t kCount = std::size(kNoteSentences);
  bool used[kCount] = {};
  std::string notes;
  while (notes.size() < 171) {
    std::size_t i = rng.below(kCount);
    while (used[i]) i = (i + 1) % kCount;
    used[i] = true;
    if (!notes.empty()) notes += ' ';
    notes += kNoteSentences[i];
  }
  return notes;
}

TagSet draw_tags(Rng& rng) {
  const std::size_t count = rng.below(5);
  TagSet tags;
  while (tags.size() < count) {
    std::string tag = pick(rng, kTags);
    if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(std::move(tag));
  }
  std::sort(tags.begin(), tags.end());
  return tags;
}

std::string draw_owner(Rng& rng) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "seller-%02d", static_cast<int>(rng.between(1, 20)));
  return buffer;
}

// Log-uniform within a range that depends on kind and segment, rounded to cents.
double draw_revenue(Rng& rng, bool company, const std::string& segment) {
  // The range [lo, hi] of a company's revenue, then of a person's, by segment A, B, C.
  static constexpr double kRanges[2][3][2] = {
      {{1'000'000, 20'000'000}, {200'000, 2'000'000}, {20'000, 300'000}},
      {{80'000, 300'000}, {30'000, 90'000}, {10'000, 40'000}}};
  const auto& [lo, hi] = kRanges[company ? 0 : 1][segment == "A" ? 0 : segment == "B" ? 1 : 2];
  const double value = lo * std::pow(hi / lo, rng.unit());
  return std::round(value * 100.0) / 100.0;
}

std::string draw_potential(Rng& rng, const std::string& segment) {
  static constexpr Weighted<const char*> kA[] = {{"alto", 60}, {"medio", 30}, {"bajo", 10}};
  static constexpr Weighted<const char*> kB[] = {{"alto", 30}, {"medio", 50}, {"bajo", 20}};
  static constexpr Weighted<const char*> kC[] = {{"alto", 10}, {"medio", 40}, {"bajo", 50}};
  return segment == "A"   ? pick_weighted(rng, kA)
         : segment == "B" ? pick_weighted(rng, kB)
                          : pick_weighted(rng, kC);
}

std::string iso_utc(std::int64_t seconds) {
  const std::int64_t days = seconds / 86'400;
  const std::int64_t rest = seconds % 86'400;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%sT%02d:%02d:%02dZ", civil_from_days(days).c_str(),
                static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60),
                static_cast<int>(rest % 60));
  return buffer;
}

std::string draw_uuid(Rng& rng) {
  const std::uint64_t high = (rng.next() & ~0xf000ULL) | 0x4000ULL;  // version 4
  const std::uint64_t low = (rng.next() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return uuid_text(high, low);
}

const City& city_named(const std::string& name) {
  for (const auto& city : kCities) {
    if (name == city.name) return city;
  }
  throw std::invalid_argument("workload: unknown city '" + name + "'");
}

// The fields every customer stream draws first, in this order: id, kind, city.
struct Head {
  std::string id;
  bool company;
  const City* city;
};

Head draw_head(Rng& rng) {
  std::string id = draw_uuid(rng);
  const bool company = rng.percent(70);
  return {std::move(id), company, &pick_entry(rng, kCities)};
}

}  // namespace

// ---- Streams -----------------------------------------------------------------------------

Rng customer_rng(std::uint64_t index, std::uint64_t seed) {
  return Rng(mix64(mix64(seed ^ kCustomerSalt) ^ index));
}

Rng edit_rng(std::uint64_t index, std::uint64_t seed) {
  return Rng(mix64(mix64(seed ^ kEditSalt) ^ index));
}

// ---- Customers -------------------------------------------------------------------------------

Customer make_customer(std::uint64_t index, std::uint64_t seed) {
  Rng rng = customer_rng(index, seed);
  Head head = draw_head(rng);
  const City& city = *head.city;

  Customer c;
  c.id = std::move(head.id);
  c.kind = head.company ? "company" : "person";
  if (head.company) {
    CompanyName company = draw_company_name(rng);
    c.name = std::move(company.name);
    c.tax_id = draw_cif(rng, company.cif_letter);
    c.email = company_email(rng, company.domain);
  } else {
    const PersonName person = draw_person_name(rng);
    c.name = person.full();
    c.tax_id = draw_dni(rng);
    c.email = person_email(rng, person);
  }
  c.phone = draw_phone(rng, city);
  c.mobile = draw_mobile(rng);
  c.billing_address = draw_address(rng, city);
  c.shipping_address = rng.percent(60) ? *c.billing_address : draw_address(rng, city);
  c.city = city.name;
  c.region = city.region;
  c.country = pick_weighted(rng, kCountries);
  c.status = pick_weighted(rng, kStatuses);
  c.segment = pick_weighted(rng, kSegments);
  c.owner = draw_owner(rng);
  c.annual_revenue = draw_revenue(rng, head.company, *c.segment);
  c.purchase_potential = draw_potential(rng, *c.segment);
  c.socioeconomic_level = pick_weighted(rng, kSocioeconomicLevels);
  c.tags = draw_tags(rng);
  c.notes = draw_notes(rng);
  const std::int64_t created = rng.between(kFirstSecond, kEndSecond - 1);
  const std::int64_t updated = rng.between(created, kEndSecond - 1);
  c.created_at = iso_utc(created);
  c.updated_at = iso_utc(updated);
  return c;
}

std::vector<Customer> make_customers(std::size_t n, std::uint64_t seed) {
  std::vector<Customer> customers;
  customers.reserve(n);
  for (std::size_t i = 0; i < n; ++i) customers.push_back(make_customer(i, seed));
  return customers;
}

std::string customer_id(std::uint64_t index, std::uint64_t seed) {
  Rng rng = customer_rng(index, seed);
  return draw_uuid(rng);
}

// ---- Edits -----------------------------------------------------------------------------------

namespace {

// The field and fresh value of an edit of `customer`, drawn from `rng` (positioned after the
// draw of the customer, so that make_edits and make_edit draw the same way).
Edit draw_edit(Rng& rng, std::size_t customer, std::uint64_t seed) {
  Edit edit;
  edit.customer = customer;
  // A fresh value depends on the customer as created (kind, city, segment, name): edits
  // of the name or segment earlier in the list do not shift later draws, so edit j
  // stays a function of (j, n, seed) alone.
  const Customer base = make_customer(edit.customer, seed);
  const bool company = base.kind == "company";
  const City& city = city_named(*base.city);
  edit.customer_id = base.id;

  edit.field = pick_weighted(rng, kEditFields);
  const std::string& f = edit.field;
  if (f == "status") {
    edit.value = pick_weighted(rng, kStatuses);
  } else if (f == "notes") {
    edit.value = draw_notes(rng);
  } else if (f == "phone") {
    edit.value = draw_phone(rng, city);
  } else if (f == "mobile") {
    edit.value = draw_mobile(rng);
  } else if (f == "email") {
    // The address derives from the name as created: replay the start of its stream.
    Rng replay = customer_rng(edit.customer, seed);
    draw_head(replay);
    if (company) {
      edit.value = company_email(rng, draw_company_name(replay).domain);
    } else {
      edit.value = person_email(rng, draw_person_name(replay));
    }
  } else if (f == "owner") {
    edit.value = draw_owner(rng);
  } else if (f == "segment") {
    edit.value = pick_weighted(rng, kSegments);
  } else if (f == "annual_revenue") {
    edit.value = draw_revenue(rng, company, *base.segment);
  } else if (f == "purchase_potential") {
    edit.value = draw_potential(rng, *base.segment);
  } else if (f == "tags") {
    edit.value = draw_tags(rng);
  } else if (f == "billing_address" || f == "shipping_address") {
    edit.value = draw_address(rng, city);
  } else if (f == "name") {
    edit.value = company ? draw_company_name(rng).name : draw_person_name(rng).full();
  }
  return edit;
}

}  // namespace

std::vector<Edit> make_edits(std::size_t n_customers, std::size_t m, std::uint64_t seed) {
  if (n_customers == 0 && m > 0) throw std::invalid_argument("workload: edits need customers");
  std::vector<Edit> edits;
  edits.reserve(m);
  for (std::size_t j = 0; j < m; ++j) {
    Rng rng = edit_rng(j, seed);
    const std::size_t customer = rng.below(n_customers);
    edits.push_back(draw_edit(rng, customer, seed));
  }
  return edits;
}

Edit make_edit(std::uint64_t j, std::size_t customer, std::uint64_t seed) {
  Rng rng = edit_rng(j, seed);
  rng.next();  // the draw make_edits spends on the customer
  return draw_edit(rng, customer, seed);
}

// ---- Remote changes --------------------------------------------------------------------------

Version server_version(std::uint64_t index) {
  return Version{Hlc::from_parts(kServerEpochMillis + index, 0), kServerReplicaId};
}

std::size_t append_customer_changes(const Customer& customer, std::uint64_t index,
                                    std::vector<Change>& out) {
  const Version version = server_version(index);
  const std::size_t before = out.size();
  for (auto& [field, value] : to_record(customer)) {
    if (value.is_tags()) {
      for (const auto& tag : value.as_tags()) {
        out.push_back(Change{tables::customers, customer.id, field, tag, Value(true), version, {}});
      }
    } else {
      out.push_back(Change{tables::customers, customer.id, field, {}, value, version, {}});
    }
  }
  return out.size() - before;
}

std::vector<Change> customer_changes(const Customer& customer, std::uint64_t index) {
  std::vector<Change> changes;
  append_customer_changes(customer, index, changes);
  return changes;
}

// ---- Sizes -----------------------------------------------------------------------------------

std::string compact_json(const Customer& c) {
  // nlohmann::ordered_json keeps the field order of WORKLOAD.md's table. A field the
  // customer lacks is null; the tag set is always an array.
  const Record record = to_record(c);
  nlohmann::ordered_json j;
  for (const std::string name : kWorkloadFields) {
    auto& field = j[name];
    const auto it = record.find(name);
    if (name == "id") {
      field = c.id;
    } else if (name == "tags") {
      field = c.tags;
    } else if (it != record.end()) {
      field = value_to_json(it->second);
    }
  }
  return j.dump();
}

std::size_t compact_json_size(const Customer& customer) {
  return compact_json(customer).size();
}

}  // namespace libreta::workload
