// A customer's activity: logging a visit in two taps (the visit button, then its outcome),
// editing and deleting interactions, purchases and follow-ups, and marking one done.
#include "commands.hpp"
#include "field_input.hpp"
#include "form_fields.hpp"
#include "screen.hpp"

namespace libreta::cli::app {
namespace {

const TableSpec& table_of(std::string_view name) {
  return *customer_book_schema().table(name);
}

const std::vector<std::string> kInteractionFields = {
    "type", "date", "outcome", "lost_reason", "revisit_on", "amount", "notes"};
const std::vector<std::string> kPurchaseFields = {"date", "product", "quantity", "amount", "notes"};
const std::vector<std::string> kFollowupFields = {"due", "title", "notes", "done"};

// A plain form for one row of a child table; a delete button below it when editing.
web::Response child_page(const Screen& s, std::string_view table_name,
                         const std::vector<std::string>& fields, const std::string& title,
                         const std::string& action, const std::string& back,
                         const std::map<std::string, std::string>& texts,
                         const std::map<std::string, std::string>& errors,
                         const std::optional<std::string>& delete_action) {
  const TableSpec& table = table_of(table_name);
  std::string content = "<h1>" + h(title) + "</h1>";
  if (!errors.empty()) {
    content += "<p class=\"notice error\" role=\"alert\">" + h(s.tr(Msg::app_fix_errors)) + "</p>";
  }
  content += form_start(s, action, "edit");
  for (const auto& name : fields) {
    const FieldSpec* field = table.field(name);
    const auto text = texts.find(name);
    const auto error = errors.find(name);
    content += field_control(s, table, *field, text == texts.end() ? "" : text->second,
                             error == errors.end() ? "" : error->second);
  }
  content += "<div class=\"form-actions\"><button type=\"submit\" class=\"primary\">" +
             h(s.tr(Msg::app_save)) + "</button><a class=\"button secondary\" href=\"" + h(back) +
             "\">" + h(s.tr(Msg::app_cancel)) + "</a></div></form>";
  if (delete_action) {
    content += "<p class=\"danger-zone\">" +
               post_button(s, *delete_action, s.tr(Msg::app_delete), "danger") + "</p>";
  }
  return page(s, title, content, Tab::customers, errors.empty() ? 200 : 422);
}

// Shows, saves (create or update) and answers the form of one child row.
web::Response child_form(Screen& s, std::string_view table_name,
                         const std::vector<std::string>& fields, std::string_view customer_id,
                         const std::optional<std::string>& row_id, Msg new_title, Msg edit_title,
                         std::string_view create_path,
                         std::map<std::string, std::string> defaults) {
  const TableSpec& table = table_of(table_name);
  std::optional<Record> current;
  std::string owner(customer_id);
  if (row_id) {
    current = s.replica.get(table_name, *row_id);
    if (!current) return not_found(s);
    owner = current->at("customer_id").as_text();
  }
  if (!s.replica.customer(owner)) return not_found(s);
  const std::string back = path_of("customers", owner);
  const std::string collection(table_name);
  const std::string action =
      row_id ? path_of(collection, *row_id, "edit") : path_of("customers", owner, create_path);
  const std::optional<std::string> delete_action =
      row_id ? std::optional(path_of(collection, *row_id, "delete")) : std::nullopt;
  const std::string title = s.tr(row_id ? edit_title : new_title);
  if (!s.is_post()) {
    return child_page(s, table_name, fields, title, action, back,
                      current ? texts_of(s, table, *current) : defaults, {}, delete_action);
  }
  FormFields read = read_form_fields(s, table, fields);
  if (!read.ok()) {
    return child_page(s, table_name, fields, title, action, back, read.texts, read.errors,
                      delete_action);
  }
  if (row_id) {
    const Record changed = changed_fields(*current, read.values);
    if (!changed.empty()) {
      s.replica.update(table_name, *row_id, changed);
      s.wrote();
    }
  } else {
    create_child(s, table_name, read.values, owner);
  }
  return web::Response::redirect(back + "?notice=saved");
}

// The kinds of contact offered as chips, and the outcomes as buttons; shown by the same
// labels as everywhere else (the timeline, the card).
constexpr const char* kVisitTypes[] = {"visit", "call", "meeting", "email"};
constexpr const char* kOutcomes[] = {"positive", "neutral", "negative", "won", "lost"};

struct Pick {
  const char* value;
  Msg label;
};

}  // namespace

web::Response visit_form(Screen& s, std::string_view customer_id) {
  const auto customer = s.replica.customer(customer_id);
  if (!customer) return not_found(s);
  const TableSpec& interactions = table_of(tables::interactions);
  const TableSpec& followups = table_of(tables::followups);
  std::map<std::string, std::string> errors;
  const std::string back = path_of("customers", customer_id);

  if (s.is_post()) {
    Record record;
    const auto take = [&](const TableSpec& table, const char* field, std::string text,
                          Record& into) {
      FieldInput input = parse_field_input(table, field, text);
      if (!input.ok()) {
        errors[field] = describe(*input.error, s.lang);
      } else if (!input.value.is_null()) {
        into[field] = std::move(input.value);
      }
    };
    take(interactions, "type", s.form.value("type").empty() ? "visit" : s.form.value("type"),
         record);
    take(interactions, "outcome", s.form.value("outcome"), record);
    take(interactions, "notes", s.form.value("notes"), record);
    take(interactions, "lost_reason", s.form.value("lost_reason"), record);
    take(interactions, "revisit_on", s.form.value("revisit_on"), record);
    if (record.count("lost_reason") && s.form.value("outcome") != "lost") {
      errors["lost_reason"] = s.tr(Msg::lost_reason_needs_lost);
    }
    // The follow-up: none, tomorrow, next week or a date.
    std::optional<std::string> due;
    const std::string pick = s.form.value("follow_up");
    if (pick == "tomorrow") due = add_days(s.today, 1);
    if (pick == "next_week") due = add_days(s.today, 7);
    if (pick == "date") {
      Record date_only;
      take(followups, "due", s.form.value("follow_up_date"), date_only);
      if (date_only.count("due")) {
        due = date_only["due"].as_text();
      } else if (!errors.count("due")) {
        errors["due"] = s.tr(Msg::app_pick_a_date);
      }
    }
    if (errors.empty()) {
      record["customer_id"] = Value(std::string(customer_id));
      record["date"] = Value(s.now_utc);
      const std::string interaction_id = s.replica.create(tables::interactions, record);
      if (due) {
        const std::string type_label(choice_label("type", record["type"].as_text(), s.lang));
        Record followup;
        followup["customer_id"] = Value(std::string(customer_id));
        followup["interaction_id"] = Value(interaction_id);
        followup["due"] = Value(*due);
        followup["title"] =
            Value(s.tr(Msg::followup_default_title, {type_label, s.format.date(s.today)}));
        s.replica.create(tables::followups, followup);
      }
      s.wrote();
      return web::Response::redirect(back + "?notice=visit_logged");
    }
  }

  // The form: the type preselected, the follow-up's quick picks, then one button per outcome
  // that saves at once, within a thumb's reach; the note and a lost deal's details below.
  const std::string type = s.form.value("type").empty() ? "visit" : s.form.value("type");
  std::string content =
      "<h1>" + h(s.tr(Msg::app_log_visit)) + " <small>" + h(customer->name) + "</small></h1>";
  if (!errors.empty()) {
    content += "<div class=\"notice error\" role=\"alert\">";
    for (const auto& [field, message] : errors) content += "<p>" + h(message) + "</p>";
    content += "</div>";
  }
  content += form_start(s, path_of("customers", customer_id, "visit"), "visit");
  content +=
      "<fieldset class=\"chips-choice\"><legend>" + h(field_label("type", s.lang)) + "</legend>";
  for (const char* value : kVisitTypes) {
    content += "<label class=\"chip-radio\"><input type=\"radio\" name=\"type\" value=\"" +
               std::string(value) + "\"" + (type == value ? " checked" : "") + "><span>" +
               h(choice_label("type", value, s.lang)) + "</span></label>";
  }
  content += "</fieldset>";
  const std::string follow = s.form.value("follow_up").empty() ? "none" : s.form.value("follow_up");
  content +=
      "<fieldset class=\"chips-choice\"><legend>" + h(s.tr(Msg::app_follow_up)) + "</legend>";
  for (const Pick& pick :
       {Pick{"none", Msg::app_follow_none}, Pick{"tomorrow", Msg::app_tomorrow},
        Pick{"next_week", Msg::app_next_week}, Pick{"date", Msg::app_on_a_date}}) {
    content += "<label class=\"chip-radio\"><input type=\"radio\" name=\"follow_up\" value=\"" +
               std::string(pick.value) + "\"" + (follow == pick.value ? " checked" : "") +
               "><span>" + h(s.tr(pick.label)) + "</span></label>";
  }
  content += "<label class=\"visually-hidden\" for=\"f-follow-date\">" +
             h(s.tr(Msg::app_on_a_date)) +
             "</label><input type=\"date\" id=\"f-follow-date\" name=\"follow_up_date\" value=\"" +
             h(s.form.value("follow_up_date")) + "\" min=\"" + h(s.today) + "\"></fieldset>";
  content +=
      "<fieldset class=\"outcomes\"><legend>" + h(s.tr(Msg::app_outcome_saves)) + "</legend>";
  for (const char* value : kOutcomes) {
    content += "<button type=\"submit\" name=\"outcome\" value=\"" + std::string(value) +
               "\" class=\"outcome outcome-" + value + "\">" +
               h(choice_label("outcome", value, s.lang)) + "</button>";
  }
  content += "</fieldset>";
  content += "<div class=\"field\"><label for=\"f-notes\">" + h(field_label("notes", s.lang)) +
             " <span class=\"hint\">" + h(s.tr(Msg::app_optional_before_outcome)) +
             "</span></label><textarea id=\"f-notes\" name=\"notes\" rows=\"2\">" +
             h(s.form.value("notes")) + "</textarea></div>";
  content += "<details class=\"lost-details\"><summary>" + h(s.tr(Msg::app_if_lost)) +
             "</summary>" +
             field_control(s, interactions, *interactions.field("lost_reason"),
                           s.form.value("lost_reason"), "") +
             field_control(s, interactions, *interactions.field("revisit_on"),
                           s.form.value("revisit_on"), "") +
             "</details>";
  content += "</form><p><a class=\"button secondary\" href=\"" + back + "\">" +
             h(s.tr(Msg::app_cancel)) + "</a></p>";
  return page(s, s.tr(Msg::app_log_visit), content, Tab::customers, errors.empty() ? 200 : 422);
}

web::Response interaction_form(Screen& s, std::string_view id) {
  return child_form(s, tables::interactions, kInteractionFields, "", std::string(id),
                    Msg::app_edit_interaction, Msg::app_edit_interaction, "", {});
}

web::Response purchase_form(Screen& s, std::string_view customer_id,
                            std::optional<std::string> purchase_id) {
  return child_form(s, tables::purchases, kPurchaseFields, customer_id, purchase_id,
                    Msg::app_new_purchase, Msg::app_edit_purchase, "purchase", {{"date", s.today}});
}

web::Response followup_form(Screen& s, std::string_view customer_id,
                            std::optional<std::string> followup_id) {
  return child_form(s, tables::followups, kFollowupFields, customer_id, followup_id,
                    Msg::app_new_followup, Msg::app_edit_followup, "followup",
                    {{"due", add_days(s.today, 1)}});
}

web::Response followup_done(Screen& s, std::string_view id) {
  const auto followup = s.replica.followup(id);
  if (!followup) return not_found(s);
  if (!followup->done) {
    Record record;
    record["done"] = Value(true);
    record["done_at"] = Value(s.now_utc);
    s.replica.update(tables::followups, id, record);
    s.wrote();
  }
  // Back where the tap was made: Today, or the customer's card.
  const std::string back = s.query.value("back") == "/"
                               ? "/?notice=done"
                               : path_of("customers", followup->customer_id) + "?notice=done";
  return web::Response::redirect(back);
}

web::Response child_delete(Screen& s, std::string_view table, std::string_view id) {
  const auto record = s.replica.get(table, id);
  if (!record) return not_found(s);
  const std::string customer_id = record->at("customer_id").as_text();
  s.replica.remove(table, id);
  s.wrote();
  return web::Response::redirect(path_of("customers", customer_id) + "?notice=deleted_item");
}

}  // namespace libreta::cli::app
