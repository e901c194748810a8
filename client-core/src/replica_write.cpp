// Replica: local writes (create, update, remove, tags), each validated, versioned above
// the row's versions, stored and appended to the outbox in one transaction.
#include <algorithm>
#include <cstdio>

#include "libreta/client/replica.hpp"
#include "libreta/protocol/ids.hpp"
#include "libreta/protocol/text.hpp"
#include "replica_impl.hpp"

namespace libreta::client {

Hlc Replica::Impl::next_version_clock(const RowVersions* row) {
  // A write must be newer than every version the row already has, whichever connection to
  // this file (the app, the sync session, another process) or earlier run issued them, and
  // even if the device clock went back: catch up with the row before taking a new clock.
  // Other rows need no such order, so nothing is read or written elsewhere for it.
  if (row) clock->restore(row->latest().hlc);
  return clock->now();
}

namespace {

// Validates a value a seller writes: the field must exist and the value suit its kind.
Value validated(const TableSpec& table, std::string_view field_name, const Value& value,
                const FieldSpec** spec_out) {
  const FieldSpec* spec = table.field(field_name);
  if (!spec) {
    throw Error(ErrorCode::unknown_field,
                "'" + std::string(field_name) + "' is not a field of " + table.name);
  }
  *spec_out = spec;
  return spec->validate(value).take();
}

void check_reference(const Replica::Impl& impl, const FieldSpec& spec, const Value& value) {
  if (spec.kind != FieldKind::reference || value.is_null()) return;
  auto& stmt = impl.statement("SELECT 1 FROM " + sql_name(spec.references) +
                              " WHERE id = ? AND deleted = 0");
  stmt.bind(1, value.as_text());
  const bool found = stmt.step();
  stmt.reset();
  if (!found) {
    throw Error(ErrorCode::not_found, "field '" + spec.name + "': no " + spec.references +
                                          " with id '" + value.as_text() + "'");
  }
}

}  // namespace

std::string Replica::create(std::string_view table_name, const Record& fields, std::string id) {
  auto& impl = *impl_;
  const TableSpec& table = impl.table(table_name);
  Impl::StoredRow row;
  for (const auto& [name, raw] : fields) {
    const FieldSpec* spec = nullptr;
    Value value = validated(table, name, raw, &spec);
    if (!value.is_null() && !(value.is_tags() && value.as_tags().empty())) {
      row.fields.emplace(name, std::move(value));
    }
  }
  for (const auto& field : table.fields) {
    if (field.required && !row.fields.count(field.name)) {
      throw Error(ErrorCode::missing_field,
                  "a new row of " + table.name + " needs '" + field.name + "'");
    }
  }
  for (const auto& [name, value] : row.fields) check_reference(impl, *table.field(name), value);

  sqlite::Transaction transaction(impl.db);
  const Hlc now = impl.next_version_clock(nullptr);
  if (id.empty()) {
    id = new_row_id(now.millis());
  } else if (!is_valid_row_id(id)) {
    throw Error(ErrorCode::invalid_value, "'" + id + "' is not a valid id");
  }
  if (impl.load(table, id)) {
    throw Error(ErrorCode::already_exists, table.name + " '" + id + "' already exists");
  }
  if (table.name == tables::customers && !row.fields.count("created_at")) {
    row.fields.emplace("created_at", Value(date_time_from_millis(now.millis())));
  }
  const Version version{now, impl.replica_id};
  for (const auto& [name, value] : row.fields) {
    if (value.is_tags()) {
      for (const auto& tag : value.as_tags()) {
        Change change{table.name, id, name, tag, Value(true), version, Version{}};
        row.versions.merge(change);
        impl.append_outbox(change);
      }
    } else {
      Change change{table.name, id, name, {}, value, version, Version{}};
      row.versions.merge(change);
      impl.append_outbox(change);
    }
  }
  impl.store(table, id, row, Impl::Search::now);
  transaction.commit();
  return id;
}

std::optional<Record> Replica::get(std::string_view table_name, std::string_view id) const {
  auto row = impl_->load(impl_->table(table_name), id);
  if (!row || row->deleted) return std::nullopt;
  return std::move(row->fields);
}

std::optional<Record> Replica::get_with_deleted(std::string_view table_name,
                                                std::string_view id) const {
  auto row = impl_->load(impl_->table(table_name), id);
  if (!row) return std::nullopt;
  return std::move(row->fields);
}

std::optional<RowState> Replica::row_state(std::string_view table_name, std::string_view id) const {
  auto row = impl_->load(impl_->table(table_name), id);
  if (!row) return std::nullopt;
  RowState state{std::string(table_name), std::string(id), std::move(row->fields),
                 std::move(row->versions)};
  if (row->deleted) state.fields.insert_or_assign("deleted", Value(true));
  return state;
}

std::size_t Replica::update(std::string_view table_name, std::string_view id,
                            const Record& fields) {
  auto& impl = *impl_;
  const TableSpec& table = impl.table(table_name);
  // Validate everything before touching anything.
  std::vector<std::pair<const FieldSpec*, Value>> wanted;
  for (const auto& [name, raw] : fields) {
    const FieldSpec* spec = nullptr;
    Value value = validated(table, name, raw, &spec);
    if (spec->required && value.is_null()) {
      throw Error(ErrorCode::invalid_value, "field '" + spec->name + "' cannot be cleared");
    }
    wanted.emplace_back(spec, std::move(value));
  }

  sqlite::Transaction transaction(impl.db);
  auto row = impl.load(table, id);
  if (!row || row->deleted) {
    throw Error(ErrorCode::not_found, "no " + table.name + " with id '" + std::string(id) + "'");
  }
  std::vector<Change> changes;
  std::optional<Version> version;
  auto next_version = [&] {
    if (!version) version = Version{impl.next_version_clock(&row->versions), impl.replica_id};
    return *version;
  };
  for (auto& [spec, value] : wanted) {
    auto current = row->fields.find(spec->name);
    const Value& before = current == row->fields.end() ? Value() : current->second;
    if (spec->kind == FieldKind::tag_set) {
      const TagSet old_tags = before.is_tags() ? before.as_tags() : TagSet{};
      const TagSet new_tags = value.is_tags() ? value.as_tags() : TagSet{};
      for (const auto& tag : new_tags) {
        if (!std::binary_search(old_tags.begin(), old_tags.end(), tag)) {
          changes.push_back({table.name, std::string(id), spec->name, tag, Value(true),
                             next_version(), row->versions.tag_added(spec->name, tag)});
        }
      }
      for (const auto& tag : old_tags) {
        if (!std::binary_search(new_tags.begin(), new_tags.end(), tag)) {
          changes.push_back({table.name, std::string(id), spec->name, tag, Value(false),
                             next_version(), row->versions.tag_added(spec->name, tag)});
        }
      }
      continue;
    }
    if (before == value) continue;
    check_reference(impl, *spec, value);
    changes.push_back({table.name,
                       std::string(id),
                       spec->name,
                       {},
                       value,
                       next_version(),
                       row->versions.field(spec->name)});
  }
  if (changes.empty()) return 0;  // a no-op update writes nothing

  std::vector<std::string> changed_columns;
  bool searchable_changed = false;
  for (const auto& change : changes) {
    if (const auto replaced = impl.replaced_by(table, *row, change)) {
      impl.note_replaced(table, id, change, change.value, *replaced);
    }
    row->versions.merge(change);
    write_merged_value(row->fields, row->versions, change, change.value);
    impl.append_outbox(change);
    if (changed_columns.empty() || changed_columns.back() != change.field) {
      changed_columns.push_back(change.field);
      searchable_changed = searchable_changed || table.field(change.field)->searchable;
    }
  }
  impl.store(table, id, *row, searchable_changed ? Impl::Search::now : Impl::Search::untouched,
             &changed_columns);
  transaction.commit();
  return changed_columns.size();
}

std::size_t Replica::update_entity(std::string_view table_name, std::string_view id,
                                   const Record& fields) {
  // A typed struct holds every field: the ones it leaves unset are cleared.
  const TableSpec& table = impl_->table(table_name);
  Record complete = fields;
  for (const auto& field : table.fields) {
    if (!complete.count(field.name)) {
      complete.emplace(field.name, field.kind == FieldKind::tag_set ? Value(TagSet{}) : Value());
    }
  }
  // Required fields left empty in the struct keep their stored value.
  for (const auto& field : table.fields) {
    if (field.required && complete[field.name].is_null()) complete.erase(field.name);
  }
  return update(table_name, id, complete);
}

void Replica::remove(std::string_view table_name, std::string_view id) {
  set_deleted(table_name, id, true);
}

void Replica::restore(std::string_view table_name, std::string_view id) {
  set_deleted(table_name, id, false);
}

void Replica::set_deleted(std::string_view table_name, std::string_view id, bool deleted) {
  auto& impl = *impl_;
  const TableSpec& table = impl.table(table_name);
  sqlite::Transaction transaction(impl.db);
  auto row = impl.load(table, id);
  if (!row || row->deleted == deleted) {
    throw Error(ErrorCode::not_found, std::string(deleted ? "no " : "no deleted ") + table.name +
                                          " with id '" + std::string(id) + "'");
  }
  Change change{table.name,
                std::string(id),
                kDeletedField,
                {},
                Value(deleted),
                Version{impl.next_version_clock(&row->versions), impl.replica_id},
                row->versions.field(kDeletedField)};
  row->versions.merge(change);
  row->deleted = deleted;
  impl.append_outbox(change);
  const std::vector<std::string> deleted_column{kDeletedField};
  // The search document goes with a delete and comes back with a restore.
  impl.store(table, id, *row, Impl::Search::now, &deleted_column);
  transaction.commit();
}

namespace {

// The tags a live row's tag-set field holds now; not_found for a missing or deleted row.
TagSet current_tags(const Replica& replica, std::string_view table, std::string_view id,
                    std::string_view field) {
  auto row = replica.get(table, id);
  if (!row) {
    throw Error(ErrorCode::not_found,
                "no " + std::string(table) + " with id '" + std::string(id) + "'");
  }
  auto it = row->find(field);
  return it != row->end() && it->second.is_tags() ? it->second.as_tags() : TagSet{};
}

}  // namespace

bool Replica::add_tag(std::string_view table_name, std::string_view id, std::string_view field,
                      std::string_view tag) {
  TagSet tags = current_tags(*this, table_name, id, field);
  if (std::find(tags.begin(), tags.end(), tag) != tags.end()) return false;
  tags.emplace_back(tag);
  return update(table_name, id, Record{{std::string(field), Value(std::move(tags))}}) > 0;
}

bool Replica::remove_tag(std::string_view table_name, std::string_view id, std::string_view field,
                         std::string_view tag) {
  TagSet tags = current_tags(*this, table_name, id, field);
  auto it = std::find(tags.begin(), tags.end(), tag);
  if (it == tags.end()) return false;
  tags.erase(it);
  return update(table_name, id, Record{{std::string(field), Value(std::move(tags))}}) > 0;
}

}  // namespace libreta::client
