#include "json_out.hpp"

#include <cstring>

#include "boundary.hpp"
#include "libreta/protocol/value_json.hpp"

namespace libreta::capi {

using nlohmann::json;

namespace {

template <class T>
json optional_json(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

json version_json(const Version& version) {
  if (version.is_none()) return nullptr;
  return {{"time_ms", version.hlc.millis()}, {"replica", version.replica}};
}

}  // namespace

std::string to_text(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

json record_json(std::string_view id, const Record& fields) {
  json object = json::object();
  object["id"] = id;
  for (const auto& [name, value] : fields) object[name] = value_to_json(value);
  return object;
}

json hits_json(const std::vector<client::SearchHit>& hits) {
  auto array = json::array();
  for (const auto& hit : hits) {
    array.push_back({{"customer_id", hit.customer_id},
                     {"customer_name", hit.customer_name},
                     {"table", hit.table},
                     {"row_id", hit.row_id},
                     {"snippet", hit.snippet}});
  }
  return array;
}

json due_json(const std::vector<client::DueFollowUp>& due) {
  auto array = json::array();
  for (const auto& item : due) {
    array.push_back({{"followup", entity_json(item.followup)},
                     {"customer_name", item.customer_name},
                     {"days_overdue", item.days_overdue}});
  }
  return array;
}

json upcoming_json(const std::vector<client::UpcomingDate>& dates) {
  auto array = json::array();
  for (const auto& date : dates) {
    array.push_back({{"customer_id", date.customer_id},
                     {"customer_name", date.customer_name},
                     {"contact_id", optional_json(date.contact_id)},
                     {"person", date.person},
                     {"what", date.what},
                     {"date", date.date},
                     {"days_until", date.days_until},
                     {"years", optional_json(date.years)}});
  }
  return array;
}

json quiet_json(const std::vector<client::QuietCustomer>& customers) {
  auto array = json::array();
  for (const auto& customer : customers) {
    array.push_back({{"customer_id", customer.customer_id},
                     {"customer_name", customer.customer_name},
                     {"last_contact", optional_json(customer.last_contact)},
                     {"days_quiet", optional_json(customer.days_quiet)}});
  }
  return array;
}

json lost_deals_json(const std::vector<client::LostDeal>& deals) {
  auto array = json::array();
  for (const auto& deal : deals) {
    array.push_back(
        {{"interaction", entity_json(deal.interaction)}, {"customer_name", deal.customer_name}});
  }
  return array;
}

json behaviour_json(const client::Behaviour& b) {
  return {{"customer_id", b.customer_id},
          {"purchase_count", b.purchase_count},
          {"first_purchase", optional_json(b.first_purchase)},
          {"last_purchase", optional_json(b.last_purchase)},
          {"days_since_last", optional_json(b.days_since_last)},
          {"total_spend", b.total_spend},
          {"orders_per_month", b.orders_per_month},
          {"average_monthly_spend", b.average_monthly_spend}};
}

json rfm_json(const client::RfmReport& report) {
  auto customers = json::array();
  for (const auto& score : report.customers) {
    customers.push_back({{"customer_id", score.customer_id},
                         {"customer_name", score.customer_name},
                         {"recency_days", score.recency_days},
                         {"frequency", score.frequency},
                         {"monetary", score.monetary},
                         {"r", score.r},
                         {"f", score.f},
                         {"m", score.m},
                         {"segment", score.segment}});
  }
  return {{"quintiles", report.quintiles}, {"customers", std::move(customers)}};
}

json conflicts_json(const std::vector<ConflictNotice>& conflicts) {
  auto array = json::array();
  for (const auto& c : conflicts) {
    array.push_back({{"id", c.id},
                     {"table", c.table},
                     {"row", c.row},
                     {"field", c.field},
                     {"kind", c.kind},
                     {"kept", value_to_json(c.kept)},
                     {"lost", value_to_json(c.lost)},
                     {"kept_version", version_json(c.kept_version)},
                     {"lost_version", version_json(c.lost_version)},
                     {"kept_user", c.kept_user},
                     {"lost_user", c.lost_user}});
  }
  return array;
}

json refusals_json(const std::vector<RefusedChange>& refusals) {
  auto array = json::array();
  for (const auto& r : refusals) {
    array.push_back({{"seq", r.seq},
                     {"table", r.table},
                     {"row", r.row},
                     {"field", r.field},
                     {"element", r.element},
                     {"code", static_cast<int>(r.code)},
                     {"code_name", error_code_name(r.code)},
                     {"message", r.message}});
  }
  return array;
}

json field_versions_json(const RowState& row) {
  json fields = json::object();
  for (const auto& [key, version] : row.versions.entries()) {
    // Keys are a field's name, or "field+tag" / "field-tag" for a tag's add or remove.
    const auto mark = key.find_first_of("+-");
    if (mark == std::string::npos) {
      const auto value = row.fields.find(key);
      json& entry = fields[key];
      entry["value"] = value == row.fields.end() ? json(nullptr) : value_to_json(value->second);
      entry["time_ms"] = version.hlc.millis();
      entry["replica"] = version.replica;
      continue;
    }
    const std::string field = key.substr(0, mark);
    const std::string tag = key.substr(mark + 1);
    json& entry = fields[field];
    if (!entry.contains("value")) {
      const auto value = row.fields.find(field);
      entry["value"] = value == row.fields.end() ? json::array() : value_to_json(value->second);
    }
    json& tag_entry = entry["tags"][tag];
    tag_entry[key[mark] == '+' ? "added_ms" : "removed_ms"] = version.hlc.millis();
    tag_entry[key[mark] == '+' ? "added_by" : "removed_by"] = version.replica;
  }
  return fields;
}

json changes_json(const ChangesEvent& changes) {
  auto changed = json::array();
  for (const auto& ref : changes.changed) changed.push_back({{"table", ref.table}, {"id", ref.id}});
  return {{"rows", changes.rows},
          {"applied", changes.applied},
          {"live", changes.live},
          {"changed", std::move(changed)},
          {"truncated", changes.truncated}};
}

libreta_sync_status status_of(const client::SyncStatus& status) {
  libreta_sync_status out{};
  out.running = status.running;
  out.connected = status.connected;
  out.caught_up = status.caught_up;
  out.downloading = status.downloading;
  out.pending = status.pending_changes;
  out.rows_received = status.rows_received;
  out.cursor = status.cursor;
  out.reconnects = status.reconnects;
  out.last_sync_ms = status.last_sync_ms ? static_cast<std::int64_t>(*status.last_sync_ms) : -1;
  if (status.last_error) {
    out.last_error_code = static_cast<int>(status.last_error->code);
    libreta_error error{};
    fill_error(&error, out.last_error_code, status.last_error->message);
    static_assert(sizeof out.last_error_message == sizeof error.message);
    std::memcpy(out.last_error_message, error.message, sizeof error.message);
  }
  return out;
}

}  // namespace libreta::capi
