// The customer card: every field grouped as a seller thinks of it, with when and from which
// device each was last changed; contacts with every field, one tap to call or write;
// behaviour; follow-ups; every interaction as a timeline; purchases.
#include <algorithm>
#include <ctime>

#include "form_fields.hpp"
#include "output.hpp"
#include "screen.hpp"

namespace libreta::cli::app {
namespace {

// A value as a link where a tap does something: call, write, find on a map.
std::string value_html(const FieldSpec& field, const Value& value, const std::string& shown) {
  if (!value.is_text() || shown.empty()) return h(shown);
  if (field.kind == FieldKind::phone) {
    std::string digits;
    for (const char c : value.as_text()) {
      if ((c >= '0' && c <= '9') || c == '+') digits += c;
    }
    return "<a href=\"tel:" + h(digits) + "\">" + h(shown) + "</a>";
  }
  if (field.kind == FieldKind::email) {
    return "<a href=\"mailto:" + h(value.as_text()) + "\">" + h(shown) + "</a>";
  }
  if (field.name == "website") {
    std::string url = value.as_text();
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) url = "https://" + url;
    return "<a href=\"" + h(url) + "\" rel=\"noopener noreferrer\" target=\"_blank\">" + h(shown) +
           "</a>";
  }
  if (field.name == "billing_address" || field.name == "shipping_address" ||
      field.name == "address") {
    return h(shown) + " <a class=\"map\" href=\"https://www.openstreetmap.org/search?query=" +
           h(web::percent_encode(value.as_text())) +
           "\" rel=\"noopener noreferrer\" target=\"_blank\">" + "&#128205;</a>";
  }
  return h(shown);
}

// The groups' fields that are set, each with its last change.
std::string fields_html(const Screen& s, const TableSpec& table, const RowState& row,
                        std::span<const FieldGroup> groups, bool with_titles) {
  const std::string& row_id = row.id;
  const auto with_history = s.replica.fields_with_history(table.name, row_id);
  std::string out;
  for (const FieldGroup& group : groups) {
    std::string rows;
    for (const char* name : group.fields) {
      const FieldSpec* field = table.field(name);
      const auto value = row.fields.find(name);
      if (!field || value == row.fields.end() || value->second.is_null()) continue;
      const std::string shown = display_value(*field, value->second, s.format);
      if (shown.empty()) continue;
      const Version& version = row.versions.field(name);
      rows += "<div class=\"kv\"><dt>" + h(field_label(name, s.lang)) + "</dt><dd>" +
              value_html(*field, value->second, shown);
      if (!version.is_none()) {
        const std::string who =
            author_text(s, version, s.replica.device_user(version.replica).value_or(""));
        rows += "<span class=\"changed\">" +
                h(s.tr(Msg::app_changed, {local_time(s, version.hlc.millis()), who}));
        if (std::find(with_history.begin(), with_history.end(), name) != with_history.end()) {
          rows += " · <a href=\"" + path_of("history", table.name, row_id) + "#f-" + name + "\">" +
                  h(s.tr(Msg::app_history)) + "</a>";
        }
        rows += "</span>";
      }
      rows += "</dd></div>";
    }
    if (rows.empty()) continue;
    if (with_titles) out += "<h3>" + h(s.tr(group.title)) + "</h3>";
    out += "<dl>" + rows + "</dl>";
  }
  return out;
}

std::string money(const Screen& s, double amount) {
  return s.format.amount(amount);
}

// The name, its chips and the quick actions, the first within a thumb's reach.
std::string card_header(Screen& s, std::string_view id, const Customer& customer) {
  std::string content = "<header class=\"card-head\"><h1>" + h(customer.name) + "</h1>";
  content += "<p class=\"chips\"><span class=\"chip status-" + h(customer.status) + "\">" +
             h(choice_label("status", customer.status, s.lang)) + "</span>";
  if (customer.relationship) {
    content += "<span class=\"chip\">" +
               h(choice_label("relationship", *customer.relationship, s.lang)) + "</span>";
  }
  if (customer.segment) content += "<span class=\"chip\">" + h(*customer.segment) + "</span>";
  content += "</p>";
  // The quick actions, the first within a thumb's reach.
  content += "<div class=\"actions\"><a class=\"button primary\" href=\"" +
             path_of("customers", id, "visit") + "\">" + h(s.tr(Msg::app_log_visit)) + "</a>";
  if (const auto& phone = customer.mobile ? customer.mobile : customer.phone) {
    content += "<a class=\"button secondary\" href=\"tel:" + h(*phone) + "\">" +
               h(s.tr(Msg::app_call)) + "</a>";
  }
  if (customer.email) {
    content += "<a class=\"button secondary\" href=\"mailto:" + h(*customer.email) + "\">" +
               h(s.tr(Msg::app_write)) + "</a>";
  }
  content += "<a class=\"button secondary\" href=\"" + path_of("customers", id, "edit") + "\">" +
             h(s.tr(Msg::app_edit)) + "</a></div></header>";
  return content;
}

// Purchases summed up: last, frequency, spend, RFM segment.
std::string behaviour_section(Screen& s, std::string_view id) {
  auto& replica = s.replica;
  std::string content;
  const client::Behaviour behaviour = replica.behaviour(id, s.today);
  content +=
      "<section class=\"card\" id=\"behaviour\"><h2>" + h(s.tr(Msg::app_behaviour)) + "</h2>";
  if (behaviour.purchase_count == 0) {
    content += "<p class=\"empty\">" + h(s.tr(Msg::show_no_purchases)) + "</p>";
  } else {
    const std::string segment = s.views.rfm_segment(replica, s.today, std::string(id));
    content += "<dl class=\"stats\">";
    content += "<div class=\"kv\"><dt>" + h(s.tr(Msg::app_last_purchase)) + "</dt><dd>" +
               h(relative_day(s, behaviour.last_purchase.value_or(std::string()))) + "</dd></div>";
    content += "<div class=\"kv\"><dt>" + h(s.tr(Msg::app_frequency)) + "</dt><dd>" +
               h(s.tr(Msg::per_month, {s.format.number(behaviour.orders_per_month)})) +
               "</dd></div>";
    content += "<div class=\"kv\"><dt>" + h(s.tr(Msg::show_monthly_spend)) + "</dt><dd>" +
               h(money(s, behaviour.average_monthly_spend)) + "</dd></div>";
    content += "<div class=\"kv\"><dt>" + h(s.tr(Msg::show_total_spend)) + "</dt><dd>" +
               h(money(s, behaviour.total_spend)) + "</dd></div>";
    if (!segment.empty()) {
      content += "<div class=\"kv\"><dt>" + h(s.tr(Msg::show_rfm_segment)) + "</dt><dd>" +
                 h(choice_label("rfm_segment", segment, s.lang)) + "</dd></div>";
    }
    content += "</dl>";
  }
  content += "</section>";
  return content;
}

// Follow-ups, open ones first.
std::string followups_section(Screen& s, std::string_view id) {
  auto& replica = s.replica;
  std::string content;
  auto followups = replica.followups_of(id);
  std::stable_sort(followups.begin(), followups.end(),
                   [](const FollowUp& a, const FollowUp& b) { return !a.done && b.done; });
  content += "<section class=\"card\" id=\"followups\"><h2>" + h(s.tr(Msg::app_followups)) +
             "</h2><ul class=\"items\">";
  for (const auto& f : followups) {
    content += std::string("<li class=\"followup") + (f.done ? " done-item" : "") + "\">" +
               "<a class=\"item\" href=\"" + path_of("followups", f.id, "edit") + "\"><strong>" +
               h(f.title) + "</strong><span class=\"detail\">" + h(relative_day(s, f.due)) +
               (f.done ? " · " + h(s.tr(Msg::app_done)) : "") + "</span></a>";
    if (!f.done) {
      content +=
          post_button(s, path_of("followups", f.id, "done"), s.tr(Msg::app_mark_done), "done");
    }
    content += "</li>";
  }
  content += "</ul><a class=\"button secondary\" href=\"" + path_of("customers", id, "followup") +
             "\">" + h(s.tr(Msg::app_add_followup)) + "</a></section>";
  return content;
}

// Contacts, every field.
std::string contacts_section(Screen& s, std::string_view id) {
  auto& replica = s.replica;
  const auto& schema = customer_book_schema();
  std::string content;
  const TableSpec& contact_table = *schema.table(tables::contacts);
  content += "<section class=\"card\" id=\"contacts\"><h2>" + h(s.tr(Msg::app_contacts)) + "</h2>";
  for (const auto& contact : replica.contacts_of(id)) {
    const auto contact_row = replica.row_state(tables::contacts, contact.id);
    if (!contact_row) continue;
    content += "<article class=\"contact\"><h3>" + h(contact.name);
    if (contact.role) content += " <small>" + h(*contact.role) + "</small>";
    content += "</h3>" +
               fields_html(s, contact_table, *contact_row, contact_field_groups(), false) +
               "<a class=\"button secondary\" href=\"" + path_of("contacts", contact.id, "edit") +
               "\">" + h(s.tr(Msg::app_edit)) + "</a></article>";
  }
  content += "<a class=\"button secondary\" href=\"" + path_of("customers", id, "contact") + "\">" +
             h(s.tr(Msg::app_add_contact)) + "</a></section>";
  return content;
}

// Every interaction, newest first.
std::string timeline_section(Screen& s, std::string_view id) {
  auto& replica = s.replica;
  std::string content;
  content += "<section class=\"card\" id=\"timeline\"><h2>" + h(s.tr(Msg::app_interactions)) +
             "</h2><ol class=\"timeline\">";
  for (const auto& i : replica.interactions_of(id)) {
    std::string line(choice_label("type", i.type, s.lang));
    if (i.outcome) line += " · " + std::string(choice_label("outcome", *i.outcome, s.lang));
    if (i.amount) line += " · " + money(s, *i.amount);
    content += std::string("<li") + (i.outcome == "lost" ? " class=\"lost\"" : "") +
               "><a class=\"item\" href=\"" + path_of("interactions", i.id, "edit") +
               "\"><strong>" + h(line) + "</strong><span class=\"detail\">" +
               h(s.format.date_time(i.date)) + "</span>";
    if (i.notes) content += "<span class=\"note\">" + h(*i.notes) + "</span>";
    if (i.lost_reason) {
      content +=
          "<span class=\"note\">" + h(s.tr(Msg::show_lost_reason, {*i.lost_reason})) + "</span>";
    }
    if (i.revisit_on) {
      content += "<span class=\"note\">" +
                 h(s.tr(Msg::show_revisit_on, {s.format.date(*i.revisit_on)})) + "</span>";
    }
    content += "</a></li>";
  }
  content += "</ol></section>";
  return content;
}

// Purchases.
std::string purchases_section(Screen& s, std::string_view id) {
  auto& replica = s.replica;
  std::string content;
  content += "<section class=\"card\" id=\"purchases\"><h2>" + h(s.tr(Msg::app_purchases)) +
             "</h2><ul class=\"items\">";
  for (const auto& p : replica.purchases_of(id)) {
    std::string detail = s.format.date(p.date);
    if (p.quantity) detail += " · " + s.format.number(*p.quantity) + " ×";
    content += "<li><a class=\"item\" href=\"" + path_of("purchases", p.id, "edit") +
               "\"><strong>" + h(p.product) + "</strong><span class=\"detail\">" + h(detail) +
               " · " + h(money(s, p.amount)) + "</span></a></li>";
  }
  content += "</ul><a class=\"button secondary\" href=\"" + path_of("customers", id, "purchase") +
             "\">" + h(s.tr(Msg::app_add_purchase)) + "</a></section>";
  return content;
}

}  // namespace

web::Response customer_card(Screen& s, std::string_view id) {
  auto& replica = s.replica;
  const auto row = replica.row_state(tables::customers, id);
  const auto customer = replica.customer(id);
  if (!row || !customer) return not_found(s);
  const TableSpec& table = *customer_book_schema().table(tables::customers);

  std::string content =
      card_header(s, id, *customer) + behaviour_section(s, id) + followups_section(s, id);
  content += "<section class=\"card\" id=\"fields\"><h2>" + h(s.tr(Msg::app_details)) + "</h2>" +
             fields_html(s, table, *row, customer_field_groups(), true) + "</section>";
  content += contacts_section(s, id) + timeline_section(s, id) + purchases_section(s, id);
  content += "<p class=\"danger-zone\"><a class=\"button danger\" href=\"" +
             path_of("customers", id, "delete") + "\">" + h(s.tr(Msg::app_delete_customer)) +
             "</a></p>";
  return page(s, customer->name, content, Tab::customers);
}

}  // namespace libreta::cli::app
