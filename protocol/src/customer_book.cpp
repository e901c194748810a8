#include "libreta/protocol/customer_book.hpp"

#include <type_traits>

namespace libreta {
namespace {

FieldSpec text(std::string name, bool searchable = false) {
  FieldSpec f;
  f.name = std::move(name);
  f.kind = FieldKind::text;
  f.searchable = searchable;
  return f;
}
FieldSpec long_text(std::string name, bool searchable = false) {
  FieldSpec f;
  f.name = std::move(name);
  f.kind = FieldKind::long_text;
  f.searchable = searchable;
  return f;
}
FieldSpec of_kind(std::string name, FieldKind kind, bool searchable = false) {
  FieldSpec f;
  f.name = std::move(name);
  f.kind = kind;
  f.searchable = searchable;
  return f;
}
FieldSpec choice(std::string name, std::vector<std::string> choices) {
  FieldSpec f;
  f.name = std::move(name);
  f.kind = FieldKind::choice;
  f.choices = std::move(choices);
  return f;
}
FieldSpec reference(std::string name, std::string table) {
  FieldSpec f;
  f.name = std::move(name);
  f.kind = FieldKind::reference;
  f.references = std::move(table);
  return f;
}
FieldSpec required(FieldSpec f) {
  f.required = true;
  return f;
}

FieldSpec automatic(FieldSpec f) {
  f.automatic = true;
  return f;
}

const std::vector<std::string> kSocioeconomicLevels = {"A", "B", "C1", "C2", "D", "E"};

Schema make_customer_book() {
  TableSpec customers{
      tables::customers,
      {
          required(choice("kind", {"company", "person"})),
          required(text("name", true)),
          text("trade_name", true),
          text("tax_id", true),
          text("fiscal_regime"),
          text("billing_address"),
          text("shipping_address"),
          text("postal_code"),
          text("city", true),
          text("region", true),
          text("country"),
          of_kind("phone", FieldKind::phone, true),
          of_kind("mobile", FieldKind::phone, true),
          of_kind("email", FieldKind::email, true),
          text("website"),
          required(choice("status", {"prospect", "active", "occasional", "inactive", "lost"})),
          choice("relationship", {"active", "regular", "occasional", "inactive"}),
          choice("segment", {"A", "B", "C"}),
          of_kind("quality_rank", FieldKind::integer),
          text("owner"),
          text("territory"),
          of_kind("annual_revenue", FieldKind::decimal),
          choice("purchase_potential", {"alto", "medio", "bajo"}),
          choice("socioeconomic_level", kSocioeconomicLevels),
          long_text("products_services"),
          of_kind("tags", FieldKind::tag_set),
          long_text("notes", true),
          of_kind("birthday", FieldKind::date),
          of_kind("anniversary", FieldKind::date),
          automatic(of_kind("created_at", FieldKind::date_time)),
          automatic(of_kind("updated_at", FieldKind::date_time)),
      },
      "",
      "owner",
      {}};
  TableSpec contacts{tables::contacts,
                     {
                         required(reference("customer_id", tables::customers)),
                         required(text("name", true)),
                         text("role"),
                         text("address"),
                         of_kind("mobile", FieldKind::phone, true),
                         of_kind("phone", FieldKind::phone, true),
                         of_kind("email", FieldKind::email, true),
                         long_text("social"),
                         choice("socioeconomic_level", kSocioeconomicLevels),
                         of_kind("birthday", FieldKind::date),
                         of_kind("anniversary", FieldKind::date),
                         long_text("personal_notes", true),
                         of_kind("tags", FieldKind::tag_set),
                     },
                     "customer_id",
                     "",
                     {}};
  TableSpec interactions{
      tables::interactions,
      {
          required(reference("customer_id", tables::customers)),
          reference("contact_id", tables::contacts),
          required(choice("type", {"visit", "call", "email", "quote", "order", "complaint",
                                   "meeting", "other"})),
          required(of_kind("date", FieldKind::date_time)),
          choice("outcome", {"pending", "positive", "neutral", "negative", "won", "lost"}),
          text("lost_reason"),
          of_kind("revisit_on", FieldKind::date),
          of_kind("amount", FieldKind::decimal),
          long_text("notes", true),
      },
      "customer_id",
      "",
      {}};
  TableSpec purchases{tables::purchases,
                      {
                          required(reference("customer_id", tables::customers)),
                          required(of_kind("date", FieldKind::date)),
                          required(text("product")),
                          of_kind("quantity", FieldKind::decimal),
                          required(of_kind("amount", FieldKind::decimal)),
                          text("notes"),
                      },
                      "customer_id",
                      "",
                      {}};
  TableSpec followups{tables::followups,
                      {
                          required(reference("customer_id", tables::customers)),
                          reference("contact_id", tables::contacts),
                          reference("interaction_id", tables::interactions),
                          required(of_kind("due", FieldKind::date)),
                          required(text("title")),
                          long_text("notes"),
                          of_kind("done", FieldKind::boolean),
                          of_kind("done_at", FieldKind::date_time),
                      },
                      "customer_id",
                      "",
                      {}};
  return Schema(kCustomerBookSchemaVersion,
                {std::move(customers), std::move(contacts), std::move(interactions),
                 std::move(purchases), std::move(followups)});
}

// Binding of struct members to field names: one generic writer and reader per member type.
struct RecordWriter {
  Record& record;
  void operator()(const char* name, const std::string& v) {
    if (!v.empty()) record[name] = Value(v);
  }
  void operator()(const char* name, const OptText& v) {
    if (v) record[name] = Value(*v);
  }
  void operator()(const char* name, const OptNumber& v) {
    if (v) record[name] = Value(*v);
  }
  void operator()(const char* name, const OptInteger& v) {
    if (v) record[name] = Value(*v);
  }
  void operator()(const char* name, const double& v) { record[name] = Value(v); }
  void operator()(const char* name, const bool& v) { record[name] = Value(v); }
  void operator()(const char* name, const TagSet& v) {
    if (!v.empty()) record[name] = Value(v);
  }
};

struct RecordReader {
  const Record& record;
  const Value* find(const char* name) const {
    auto it = record.find(name);
    return it == record.end() || it->second.is_null() ? nullptr : &it->second;
  }
  void operator()(const char* name, std::string& v) {
    if (auto* value = find(name); value && value->is_text()) v = value->as_text();
  }
  void operator()(const char* name, OptText& v) {
    auto* value = find(name);
    v = value && value->is_text() ? OptText(value->as_text()) : std::nullopt;
  }
  void operator()(const char* name, OptNumber& v) {
    auto* value = find(name);
    v = value && value->is_number() ? OptNumber(value->as_number()) : std::nullopt;
  }
  void operator()(const char* name, OptInteger& v) {
    auto* value = find(name);
    v = value && value->is_integer() ? OptInteger(value->as_integer()) : std::nullopt;
  }
  void operator()(const char* name, double& v) {
    auto* value = find(name);
    v = value && value->is_number() ? value->as_number() : 0.0;
  }
  void operator()(const char* name, bool& v) {
    auto* value = find(name);
    v = value && value->is_bool() && value->as_bool();
  }
  void operator()(const char* name, TagSet& v) {
    auto* value = find(name);
    v = value && value->is_tags() ? value->as_tags() : TagSet{};
  }
};

// One list of members per entity, used both ways. The names match the schema above.
template <class E, class F>
void visit(E& e, F&& f) {
  using T = std::remove_const_t<E>;
  if constexpr (std::is_same_v<T, Customer>) {
    f("kind", e.kind), f("name", e.name), f("trade_name", e.trade_name), f("tax_id", e.tax_id);
    f("fiscal_regime", e.fiscal_regime), f("billing_address", e.billing_address);
    f("shipping_address", e.shipping_address), f("postal_code", e.postal_code);
    f("city", e.city), f("region", e.region), f("country", e.country), f("phone", e.phone);
    f("mobile", e.mobile), f("email", e.email), f("website", e.website), f("status", e.status);
    f("relationship", e.relationship), f("segment", e.segment);
    f("quality_rank", e.quality_rank), f("owner", e.owner), f("territory", e.territory);
    f("annual_revenue", e.annual_revenue), f("purchase_potential", e.purchase_potential);
    f("socioeconomic_level", e.socioeconomic_level);
    f("products_services", e.products_services), f("tags", e.tags), f("notes", e.notes);
    f("birthday", e.birthday), f("anniversary", e.anniversary);
    f("created_at", e.created_at), f("updated_at", e.updated_at);
  } else if constexpr (std::is_same_v<T, Contact>) {
    f("customer_id", e.customer_id), f("name", e.name), f("role", e.role);
    f("address", e.address), f("mobile", e.mobile), f("phone", e.phone), f("email", e.email);
    f("social", e.social), f("socioeconomic_level", e.socioeconomic_level);
    f("birthday", e.birthday), f("anniversary", e.anniversary);
    f("personal_notes", e.personal_notes), f("tags", e.tags);
  } else if constexpr (std::is_same_v<T, Interaction>) {
    f("customer_id", e.customer_id), f("contact_id", e.contact_id), f("type", e.type);
    f("date", e.date), f("outcome", e.outcome), f("lost_reason", e.lost_reason);
    f("revisit_on", e.revisit_on), f("amount", e.amount), f("notes", e.notes);
  } else if constexpr (std::is_same_v<T, Purchase>) {
    f("customer_id", e.customer_id), f("date", e.date), f("product", e.product);
    f("quantity", e.quantity), f("amount", e.amount), f("notes", e.notes);
  } else if constexpr (std::is_same_v<T, FollowUp>) {
    f("customer_id", e.customer_id), f("contact_id", e.contact_id);
    f("interaction_id", e.interaction_id), f("due", e.due), f("title", e.title);
    f("notes", e.notes), f("done", e.done), f("done_at", e.done_at);
  }
}

template <class E>
Record write_record(const E& e) {
  Record record;
  visit(e, RecordWriter{record});
  return record;
}

template <class E>
void read_record(const Record& record, E& e) {
  visit(e, RecordReader{record});
}

}  // namespace

const Schema& customer_book_schema() {
  static const Schema schema = make_customer_book();
  return schema;
}

Record to_record(const Customer& e) {
  return write_record(e);
}
Record to_record(const Contact& e) {
  return write_record(e);
}
Record to_record(const Interaction& e) {
  return write_record(e);
}
Record to_record(const Purchase& e) {
  return write_record(e);
}
Record to_record(const FollowUp& e) {
  return write_record(e);
}
void from_record(const Record& r, Customer& e) {
  read_record(r, e);
}
void from_record(const Record& r, Contact& e) {
  read_record(r, e);
}
void from_record(const Record& r, Interaction& e) {
  read_record(r, e);
}
void from_record(const Record& r, Purchase& e) {
  read_record(r, e);
}
void from_record(const Record& r, FollowUp& e) {
  read_record(r, e);
}

}  // namespace libreta
