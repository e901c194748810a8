// The customer book: the schema every replica and the server share, and one typed struct
// per entity for code that prefers members to field names. Plain data; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "libreta/protocol/schema.hpp"
#include "libreta/protocol/value.hpp"

namespace libreta {

// Version 1 of the customer book schema. Bump when tables or fields change.
inline constexpr int kCustomerBookSchemaVersion = 1;
const Schema& customer_book_schema();

namespace tables {
inline constexpr const char* customers = "customers";
inline constexpr const char* contacts = "contacts";
inline constexpr const char* interactions = "interactions";
inline constexpr const char* purchases = "purchases";
inline constexpr const char* followups = "followups";
}  // namespace tables

using OptText = std::optional<std::string>;
using OptNumber = std::optional<double>;
using OptInteger = std::optional<std::int64_t>;

// A customer: a company or a person; current (active, occasional), prospect, or past
// (inactive, lost).
struct Customer {
  std::string id;
  std::string kind = "company";  // company | person
  std::string name;              // legal name of a company, full name of a person
  OptText trade_name, tax_id, fiscal_regime;
  OptText billing_address, shipping_address, postal_code, city, region, country;
  OptText phone, mobile, email, website;
  std::string status = "prospect";  // prospect | active | occasional | inactive | lost
  OptText relationship;             // active | regular | occasional | inactive
  OptText segment;                  // A | B | C
  OptInteger quality_rank;          // 1 (best) .. 5
  OptText owner, territory;         // the seller it is assigned to, and their territory
  OptNumber annual_revenue;
  OptText purchase_potential;   // alto | medio | bajo
  OptText socioeconomic_level;  // A | B | C1 | C2 | D | E
  OptText products_services;
  TagSet tags;
  OptText notes;
  OptText birthday, anniversary;  // YYYY-MM-DD: a person's birthday; customer since
  OptText created_at, updated_at;
};

// A representative: a person at a customer the seller deals with.
struct Contact {
  std::string id;
  std::string customer_id;
  std::string name;
  OptText role, address, mobile, phone, email, social;
  OptText socioeconomic_level;
  OptText birthday, anniversary;
  OptText personal_notes;  // hobbies, children, important dates
  TagSet tags;
};

// A visit, call, email, quote, order or complaint, with its outcome. A lost deal has
// outcome "lost", a reason, and a date to revisit it.
struct Interaction {
  std::string id;
  std::string customer_id;
  OptText contact_id;
  std::string type = "visit";  // visit | call | email | quote | order | complaint | meeting | other
  std::string date;            // YYYY-MM-DDTHH:MM:SSZ
  OptText outcome;             // pending | positive | neutral | negative | won | lost
  OptText lost_reason, revisit_on;
  OptNumber amount;
  OptText notes;
};

// One purchased line: a product, a quantity and what it cost.
struct Purchase {
  std::string id;
  std::string customer_id;
  std::string date;  // YYYY-MM-DD
  std::string product;
  OptNumber quantity;
  double amount = 0;
  OptText notes;
};

// Something to do for a customer by a date.
struct FollowUp {
  std::string id;
  std::string customer_id;
  OptText contact_id, interaction_id;
  std::string due;  // YYYY-MM-DD
  std::string title;
  OptText notes;
  bool done = false;
  OptText done_at;
};

// Conversions between the typed structs and generic records. to_record() leaves out
// unset optionals; from_record() ignores fields it does not know.
template <class Entity>
struct EntityTable;
template <>
struct EntityTable<Customer> {
  static constexpr const char* name = tables::customers;
};
template <>
struct EntityTable<Contact> {
  static constexpr const char* name = tables::contacts;
};
template <>
struct EntityTable<Interaction> {
  static constexpr const char* name = tables::interactions;
};
template <>
struct EntityTable<Purchase> {
  static constexpr const char* name = tables::purchases;
};
template <>
struct EntityTable<FollowUp> {
  static constexpr const char* name = tables::followups;
};

Record to_record(const Customer& e);
Record to_record(const Contact& e);
Record to_record(const Interaction& e);
Record to_record(const Purchase& e);
Record to_record(const FollowUp& e);
void from_record(const Record& r, Customer& e);
void from_record(const Record& r, Contact& e);
void from_record(const Record& r, Interaction& e);
void from_record(const Record& r, Purchase& e);
void from_record(const Record& r, FollowUp& e);

}  // namespace libreta
