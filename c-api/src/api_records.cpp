// Records of every table as JSON: create, get, update, delete, tags, lists, search, and who
// last wrote each field.
#include "boundary.hpp"
#include "json_in.hpp"
#include "json_out.hpp"
#include "replica_handle.hpp"

using namespace libreta;
using namespace libreta::capi;

namespace {

[[noreturn]] void throw_not_found(std::string_view table, std::string_view id) {
  throw Error(ErrorCode::not_found, "no " + std::string(table) + " row " + std::string(id));
}

// A customer's rows of a child table, newest first where the replica orders them so.
nlohmann::json children_json(const client::Replica& r, std::string_view table,
                             const std::string& customer_id) {
  if (table == tables::contacts) return entities_json(r.contacts_of(customer_id));
  if (table == tables::interactions) return entities_json(r.interactions_of(customer_id));
  if (table == tables::purchases) return entities_json(r.purchases_of(customer_id));
  if (table == tables::followups) return entities_json(r.followups_of(customer_id));
  throw Error(ErrorCode::unknown_table, "unknown table '" + std::string(table) + "'");
}

}  // namespace

extern "C" {

int libreta_create(libreta_replica* replica, const char* table, const char* fields_json, char** id,
                   libreta_error* error) {
  return guarded(error, [&] {
    const auto table_name = require_text(table, "table");
    std::string wanted_id;
    const Record fields = record_from_json(require_text(fields_json, "fields_json"), &wanted_id);
    std::string created;
    with_replica(replica, [&](client::Replica& r) {
      created = r.create(table_name, fields, std::move(wanted_id));
    });
    nudge_session(*replica);
    if (id != nullptr) *id = copy_out(created);
  });
}

int libreta_get(libreta_replica* replica, const char* table, const char* id, char** record_json_out,
                libreta_error* error) {
  return guarded(error, [&] {
    const auto table_name = require_text(table, "table");
    const auto row_id = require_text(id, "id");
    require(record_json_out, "record_json");
    std::string text;
    with_replica(replica, [&](client::Replica& r) {
      const auto record = r.get(table_name, row_id);
      if (!record) throw_not_found(table_name, row_id);
      text = to_text(record_json(row_id, *record));
    });
    *record_json_out = copy_out(text);
  });
}

int libreta_update(libreta_replica* replica, const char* table, const char* id,
                   const char* fields_json, size_t* changed, libreta_error* error) {
  return guarded(error, [&] {
    const auto table_name = require_text(table, "table");
    const auto row_id = require_text(id, "id");
    const Record fields = record_from_json(require_text(fields_json, "fields_json"));
    std::size_t count = 0;
    with_replica(replica,
                 [&](client::Replica& r) { count = r.update(table_name, row_id, fields); });
    if (count > 0) nudge_session(*replica);
    if (changed != nullptr) *changed = count;
  });
}

int libreta_delete(libreta_replica* replica, const char* table, const char* id,
                   libreta_error* error) {
  return guarded(error, [&] {
    const auto table_name = require_text(table, "table");
    const auto row_id = require_text(id, "id");
    with_replica(replica, [&](client::Replica& r) { r.remove(table_name, row_id); });
    nudge_session(*replica);
  });
}

static int change_tag(libreta_replica* replica, const char* table, const char* id,
                      const char* field, const char* tag, bool add, int* changed,
                      libreta_error* error) {
  return guarded(error, [&] {
    const auto table_name = require_text(table, "table");
    const auto row_id = require_text(id, "id");
    const auto field_name = require_text(field, "field");
    const auto tag_text = require_text(tag, "tag");
    bool did = false;
    with_replica(replica, [&](client::Replica& r) {
      did = add ? r.add_tag(table_name, row_id, field_name, tag_text)
                : r.remove_tag(table_name, row_id, field_name, tag_text);
    });
    if (did) nudge_session(*replica);
    if (changed != nullptr) *changed = did ? 1 : 0;
  });
}

int libreta_add_tag(libreta_replica* replica, const char* table, const char* id, const char* field,
                    const char* tag, int* changed, libreta_error* error) {
  return change_tag(replica, table, id, field, tag, true, changed, error);
}

int libreta_remove_tag(libreta_replica* replica, const char* table, const char* id,
                       const char* field, const char* tag, int* changed, libreta_error* error) {
  return change_tag(replica, table, id, field, tag, false, changed, error);
}

int libreta_list(libreta_replica* replica, const char* table, const char* filter_json,
                 char** records_json, libreta_error* error) {
  return guarded(error, [&] {
    const auto table_name = require_text(table, "table");
    require(records_json, "records_json");
    std::string text;
    if (table_name == tables::customers) {
      const auto filter = customer_filter_from_json(filter_json);
      with_replica(replica, [&](client::Replica& r) {
        text = to_text(entities_json(r.list_customers(filter)));
      });
    } else {
      // Checked before the filter, so that an unknown table is named as such.
      if (!customer_book_schema().table(table_name)) {
        throw Error(ErrorCode::unknown_table, "unknown table '" + std::string(table_name) + "'");
      }
      const std::string customer_id = customer_id_from_json(filter_json);
      with_replica(replica, [&](client::Replica& r) {
        text = to_text(children_json(r, table_name, customer_id));
      });
    }
    *records_json = copy_out(text);
  });
}

int libreta_search(libreta_replica* replica, const char* text, size_t limit, char** hits_json,
                   libreta_error* error) {
  return guarded(error, [&] {
    const auto query = require_text(text, "text");
    require(hits_json, "hits_json");
    std::string out;
    with_replica(replica, [&](client::Replica& r) {
      out = to_text(capi::hits_json(r.search(query, limit == 0 ? 50 : limit)));
    });
    *hits_json = copy_out(out);
  });
}

int libreta_field_versions(libreta_replica* replica, const char* table, const char* id,
                           char** versions_json, libreta_error* error) {
  return guarded(error, [&] {
    const auto table_name = require_text(table, "table");
    const auto row_id = require_text(id, "id");
    require(versions_json, "versions_json");
    std::string out;
    with_replica(replica, [&](client::Replica& r) {
      const auto row = r.row_state(table_name, row_id);
      if (!row) throw_not_found(table_name, row_id);
      out = to_text(field_versions_json(*row));
    });
    *versions_json = copy_out(out);
  });
}

}  // extern "C"
