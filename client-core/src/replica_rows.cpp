// Replica::Impl's rows on disk: each table's SQL, loading and storing a row with its
// versions, the search documents of rows, and the conversions between values and columns
// or JSON text.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "libreta/protocol/text.hpp"
#include "replica_impl.hpp"

namespace libreta::client {

std::string sql_name(std::string_view name) {
  return "\"" + std::string(name) + "\"";
}

namespace {

using json = nlohmann::json;

// The shortest run of digits of a phone that search finds from its start.
constexpr std::size_t kMinPhoneSearchDigits = 6;

std::string to_lower_ascii(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

void append_search_text(std::string& body, const Value& value, FieldKind kind) {
  if (!value.is_text()) return;
  const std::string& text = value.as_text();
  body += text;
  body += '\n';
  // The tokenizer removes accents but does not fold every letter (ß, æ, ø, ł...): the
  // folded form is indexed too, so that "strasse" finds "Straße".
  if (std::string folded = fold_text(text); folded != text && folded != to_lower_ascii(text)) {
    body += folded;
    body += '\n';
  }
  if (kind == FieldKind::phone) {
    // Phones are also indexed as runs of digits: the whole number and each of its endings
    // of at least kMinPhoneSearchDigits digits, so that "912345678" and "345678" find
    // "+34 912 345 678" as a prefix search.
    const std::string digits = digits_only(text);
    for (std::size_t start = 0; start + kMinPhoneSearchDigits <= digits.size(); ++start) {
      body += digits.substr(start);
      body += ' ';
    }
    body += '\n';
  } else if (kind == FieldKind::text) {
    // A tax id is also indexed as one run of characters: "b12345678" finds "B-12.345.678".
    const std::string compact = normalize_tax_id(text);
    if (compact.size() >= 6 && compact.size() <= 16 &&
        compact.find_first_of("0123456789") != std::string::npos && compact != text) {
      body += compact;
      body += '\n';
    }
  }
}

}  // namespace

std::string search_document(const TableSpec& table, const Record& fields) {
  std::string body;
  for (const auto& field : table.fields) {
    if (!field.searchable) continue;
    auto it = fields.find(field.name);
    if (it != fields.end()) append_search_text(body, it->second, field.kind);
  }
  return body;
}

std::string value_json(const Value& value) {
  switch (value.type()) {
    case Value::Type::null:
      return "null";
    case Value::Type::boolean:
      return value.as_bool() ? "true" : "false";
    case Value::Type::integer:
      return json(value.as_integer()).dump();
    case Value::Type::number:
      return json(value.as_number()).dump();
    case Value::Type::text:
      return json(value.as_text()).dump();
    case Value::Type::tags:
      return json(value.as_tags()).dump();
  }
  return "null";
}

Value value_from_json_text(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || j.is_null()) return Value();
  if (j.is_boolean()) return Value(j.get<bool>());
  if (j.is_number_integer()) return Value(j.get<std::int64_t>());
  if (j.is_number()) return Value(j.get<double>());
  if (j.is_string()) return Value(j.get<std::string>());
  if (j.is_array()) {
    TagSet tags;
    for (const auto& item : j) {
      if (item.is_string()) tags.push_back(item.get<std::string>());
    }
    return Value(std::move(tags));
  }
  return Value();
}

// ---- Column conversions ---------------------------------------------------------------------

Value read_column(const sqlite::Statement& stmt, int column, FieldKind kind) {
  if (stmt.is_null(column)) return Value();
  switch (kind) {
    case FieldKind::integer:
      return Value(stmt.integer(column));
    case FieldKind::decimal:
      return Value(stmt.number(column));
    case FieldKind::boolean:
      return Value(stmt.integer(column) != 0);
    case FieldKind::tag_set: {
      Value tags = value_from_json_text(stmt.text_view(column));
      return tags.is_tags() && !tags.as_tags().empty() ? tags : Value();
    }
    default:
      return Value(stmt.text(column));
  }
}

void bind_value(sqlite::Statement& stmt, int index, const Value& value, FieldKind kind) {
  if (value.is_null()) {
    stmt.bind_null(index);
    return;
  }
  switch (kind) {
    case FieldKind::integer:
      stmt.bind(index, value.as_integer());
      break;
    case FieldKind::decimal:
      stmt.bind(index, value.as_number());
      break;
    case FieldKind::boolean:
      stmt.bind(index, std::int64_t{value.as_bool() ? 1 : 0});
      break;
    case FieldKind::tag_set:
      if (value.as_tags().empty())
        stmt.bind_null(index);
      else
        stmt.bind(index, value_json(value));
      break;
    default:
      stmt.bind(index, value.as_text());
      break;
  }
}

// ---- Impl -----------------------------------------------------------------------------------

const TableSpec& Replica::Impl::table(std::string_view name) const {
  const TableSpec* spec = schema->table(name);
  if (!spec) throw Error(ErrorCode::unknown_table, "unknown table '" + std::string(name) + "'");
  return *spec;
}

Replica::Impl::TableSql make_table_sql(const TableSpec& table) {
  Replica::Impl::TableSql sql;
  std::string columns;
  std::string placeholders;
  std::string assignments;
  for (const auto& field : table.fields) {
    columns += ", " + sql_name(field.name);
    placeholders += ", ?";
    assignments += ", " + sql_name(field.name) + " = ?";
    sql.searchable = sql.searchable || field.searchable;
  }
  const std::string name = sql_name(table.name);
  const std::string select =
      "SELECT rowid, id, deleted, _versions, _extra" + columns + " FROM " + name;
  sql.name_key = table.field("name") != nullptr;
  if (sql.name_key) {
    columns += ", _name_key";
    placeholders += ", ?";
    assignments += ", _name_key = ?";
  }
  sql.load_by_id = select + " WHERE id = ?";
  sql.load_by_rowid = select + " WHERE rowid = ?";
  sql.insert = "INSERT INTO " + name + " (deleted, _versions, _extra, id" + columns +
               ") VALUES (?, ?, ?, ?" + placeholders + ")";
  sql.update_all = "UPDATE " + name + " SET deleted = ?, _versions = ?, _extra = ?, id = ?" +
                   assignments + " WHERE rowid = ?";
  return sql;
}

namespace {

// Reads a row selected with TableSql's load statements.
Replica::Impl::StoredRow read_stored_row(const TableSpec& table, sqlite::Statement& stmt,
                                         std::string* id) {
  Replica::Impl::StoredRow row;
  row.rowid = stmt.integer(0);
  if (id) *id = stmt.text(1);
  row.deleted = stmt.integer(2) != 0;
  auto versions = RowVersions::decode(stmt.text_view(3));
  if (!versions) {
    const std::string which = stmt.text(1);
    stmt.reset();
    throw Error(ErrorCode::storage, "corrupt versions of " + table.name + " " + which);
  }
  row.versions = std::move(*versions);
  if (!stmt.is_null(4)) row.extra = stmt.text(4);
  for (std::size_t i = 0; i < table.fields.size(); ++i) {
    Value value = read_column(stmt, static_cast<int>(i) + 5, table.fields[i].kind);
    if (!value.is_null()) row.fields.emplace(table.fields[i].name, std::move(value));
  }
  stmt.reset();
  return row;
}

void bind_field(sqlite::Statement& stmt, int index, const Replica::Impl::StoredRow& row,
                const FieldSpec& field) {
  auto it = row.fields.find(field.name);
  bind_value(stmt, index, it == row.fields.end() ? Value() : it->second, field.kind);
}

// Binds every field of a whole-row statement whose field parameters start at `first`. The
// statement comes reset with every parameter null, so only the row's set fields are bound;
// their text is bound without a copy (the row outlives the statement's step).
void bind_all_fields(sqlite::Statement& stmt, int first, const TableSpec& table,
                     const Replica::Impl::StoredRow& row) {
  for (const auto& [name, value] : row.fields) {
    auto position = table.field_positions.find(name);
    if (position == table.field_positions.end()) continue;
    const FieldSpec& field = table.fields[position->second];
    const int index = first + static_cast<int>(position->second);
    if (value.is_text() && field.kind != FieldKind::integer && field.kind != FieldKind::decimal &&
        field.kind != FieldKind::boolean && field.kind != FieldKind::tag_set) {
      stmt.bind_static(index, value.as_text());
    } else {
      bind_value(stmt, index, value, field.kind);
    }
  }
}

// The folded name of a row with a name field (null when it has none), bound at `index`.
void bind_name_key(sqlite::Statement& stmt, int index, const Replica::Impl::StoredRow& row) {
  const auto name = row.fields.find("name");
  if (name == row.fields.end() || !name->second.is_text()) {
    stmt.bind_null(index);
  } else {
    stmt.bind(index, fold_text(name->second.as_text()));
  }
}

}  // namespace

std::optional<Replica::Impl::StoredRow> Replica::Impl::load(const TableSpec& table,
                                                            std::string_view id) const {
  auto& stmt = statement(table_sql[position(table)].load_by_id);
  stmt.bind(1, id);
  if (!stmt.step()) {
    stmt.reset();
    return std::nullopt;
  }
  return read_stored_row(table, stmt, nullptr);
}

std::optional<Replica::Impl::StoredRow> Replica::Impl::load_rowid(const TableSpec& table,
                                                                  std::int64_t rowid,
                                                                  std::string* id) const {
  auto& stmt = statement(table_sql[position(table)].load_by_rowid);
  stmt.bind(1, rowid);
  if (!stmt.step()) {
    stmt.reset();
    return std::nullopt;
  }
  return read_stored_row(table, stmt, id);
}

void Replica::Impl::store(const TableSpec& table, std::string_view id, StoredRow& row,
                          Search search, const std::vector<std::string>* changed) {
  const TableSql& sql = table_sql[position(table)];
  const bool is_new = row.rowid == 0;
  const std::string versions = row.versions.encode();
  auto bind_common = [&](sqlite::Statement& stmt) {
    stmt.bind(1, std::int64_t{row.deleted ? 1 : 0}).bind_static(2, versions);
    if (row.extra.empty())
      stmt.bind_null(3);
    else
      stmt.bind(3, row.extra);
    stmt.bind(4, id);
  };
  if (is_new) {
    auto& stmt = statement(sql.insert);
    bind_common(stmt);
    bind_all_fields(stmt, 5, table, row);
    if (sql.name_key) bind_name_key(stmt, static_cast<int>(table.fields.size()) + 5, row);
    stmt.run();
    row.rowid = sqlite3_last_insert_rowid(db.handle());
    if (table.name == tables::customers) customer_inserted(row.rowid);
  } else if (changed) {
    // Only the columns that changed: an edit of one field writes one column and the versions.
    // `deleted` and `id` only when they change, since SQLite rewrites every index holding a
    // column the statement sets (the partial indexes all name `deleted`), changed or not.
    std::string text = "UPDATE " + sql_name(table.name) + " SET _versions = ?, _extra = ?";
    std::vector<const FieldSpec*> specs;
    bool renamed = false;
    bool deleted = false;
    for (const auto& name : *changed) {
      if (name == kDeletedField) {
        deleted = true;
        continue;
      }
      const FieldSpec* spec = table.field(name);
      if (!spec || std::find(specs.begin(), specs.end(), spec) != specs.end()) continue;
      specs.push_back(spec);
      text += ", " + sql_name(spec->name) + " = ?";
      renamed = renamed || (sql.name_key && name == "name");
    }
    if (deleted) text += ", deleted = ?";
    if (renamed) text += ", _name_key = ?";
    text += " WHERE rowid = ?";
    auto& stmt = statement(text);
    stmt.bind_static(1, versions);
    if (row.extra.empty())
      stmt.bind_null(2);
    else
      stmt.bind(2, row.extra);
    int index = 3;
    for (const FieldSpec* spec : specs) bind_field(stmt, index++, row, *spec);
    if (deleted) stmt.bind(index++, std::int64_t{row.deleted ? 1 : 0});
    if (renamed) bind_name_key(stmt, index++, row);
    stmt.bind(index, row.rowid).run();
  } else {
    auto& stmt = statement(sql.update_all);
    bind_common(stmt);
    bind_all_fields(stmt, 5, table, row);
    int index = static_cast<int>(table.fields.size()) + 5;
    if (sql.name_key) bind_name_key(stmt, index++, row);
    stmt.bind(index, row.rowid).run();
  }
  if (!sql.searchable || search == Search::untouched) return;
  if (search == Search::now) {
    refresh_search_document(table, id, row, is_new);
  } else {
    auto& pending = statement("INSERT OR IGNORE INTO _search_pending(doc) VALUES(?)");
    pending.bind(1, row.rowid * 8 + position(table)).run();
  }
}

void Replica::Impl::refresh_search_document(const TableSpec& table, std::string_view id,
                                            const StoredRow& row, bool is_new) {
  const std::int64_t doc = row.rowid * 8 + position(table);
  if (!is_new) {
    auto& remove = statement("DELETE FROM search_index WHERE rowid = ?");
    remove.bind(1, doc).run();
  }
  if (row.deleted) return;
  const std::string body = search_document(table, row.fields);
  if (body.empty()) return;
  std::string customer_id(id);
  if (!table.owner_link.empty()) {
    auto it = row.fields.find(table.owner_link);
    customer_id = it != row.fields.end() && it->second.is_text() ? it->second.as_text() : "";
  }
  auto& insert = statement(
      "INSERT INTO search_index(rowid, customer_id, tbl, row_id, body) VALUES(?, ?, ?, ?, ?)");
  insert.bind(1, doc).bind(2, customer_id).bind(3, table.name).bind(4, id).bind(5, body).run();
}

std::size_t Replica::Impl::index_pending_search() {
  std::vector<std::int64_t> docs;
  {
    auto& stmt = statement("SELECT doc FROM _search_pending ORDER BY doc");
    while (stmt.step()) docs.push_back(stmt.integer(0));
    stmt.reset();
  }
  if (docs.empty()) return 0;
  sqlite::Transaction transaction(db);
  for (const std::int64_t doc : docs) {
    const auto& tables = schema->tables();
    const std::size_t position = static_cast<std::size_t>(doc % 8);
    if (position >= tables.size()) continue;
    std::string id;
    auto row = load_rowid(tables[position], doc / 8, &id);
    if (row) {
      refresh_search_document(tables[position], id, *row, false);
    } else {
      auto& remove = statement("DELETE FROM search_index WHERE rowid = ?");
      remove.bind(1, doc).run();
    }
  }
  db.exec("DELETE FROM _search_pending");
  transaction.commit();
  return docs.size();
}

}  // namespace libreta::client
