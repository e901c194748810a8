// libreta log, libreta purchase add|list, libreta followups [list|add|done].
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>

#include "cli_error.hpp"
#include "commands.hpp"
#include "customer_lookup.hpp"
#include "field_input.hpp"
#include "libreta/protocol/text.hpp"
#include "output.hpp"

namespace libreta::cli {
namespace {

// The follow-ups shown by `libreta followups`: overdue, today and the next days of the week.
constexpr int kFollowUpWindowDays = 7;

const TableSpec& table_of(const char* name) {
  return *customer_book_schema().table(name);
}

// One value for `field` of `table`, converted and validated, or a CliError.
Value field_value(Context& ctx, const char* table, const char* field, std::string_view text) {
  FieldInput input = parse_field_input(table_of(table), field, text);
  if (!input.ok()) throw CliError(kExitValidation, describe(*input.error, ctx.lang()));
  return input.value;
}

// A date-time given by the seller: a date (or "hoy", "+2"), or a date and a local time.
std::string date_time_argument(Context& ctx, std::string_view text) {
  text = trim(text);
  if (auto date_time = parse_date_time(text);
      date_time && text.find_first_of(" T") != std::string_view::npos) {
    if (text.back() == 'Z') return *date_time;
    return local_to_utc(date_time->substr(0, 19));
  }
  return date_argument(ctx, text, "--date") + "T00:00:00Z";
}

// The contact of `customer` named by id or (unambiguous) name.
Contact find_contact_of(Context& ctx, const Customer& customer, const std::string& which) {
  auto contacts = ctx.replica().contacts_of(customer.id);
  const Contact* found = nullptr;
  for (const auto& c : contacts) {
    if (c.id == which) return c;
  }
  for (const auto& c : contacts) {
    const std::string folded = fold_text(c.name);
    if (folded == fold_text(which) || folded.find(fold_text(which)) != std::string::npos) {
      if (found)
        throw CliError(kExitValidation, ctx.tr(Msg::contact_ambiguous, {which, customer.name}));
      found = &c;
    }
  }
  if (!found)
    throw CliError(kExitValidation, ctx.tr(Msg::contact_not_found_of, {which, customer.name}));
  return *found;
}

struct LogArgs {
  std::string customer, type = "visit", outcome, note, follow_up, follow_up_title, lost_reason,
                        revisit, contact, amount, date;
};

int log_interaction(Context& ctx, const LogArgs& args) {
  auto& replica = ctx.replica();
  const Customer customer = find_customer(ctx, args.customer);
  Record interaction{{"customer_id", Value(customer.id)}};
  interaction["type"] = field_value(ctx, tables::interactions, "type", args.type);
  interaction["date"] = args.date.empty() ? Value(ctx.now_utc())
                                          : field_value(ctx, tables::interactions, "date",
                                                        date_time_argument(ctx, args.date));
  if (!args.outcome.empty()) {
    interaction["outcome"] = field_value(ctx, tables::interactions, "outcome", args.outcome);
  }
  if (!args.lost_reason.empty() || !args.revisit.empty()) {
    if (!interaction.count("outcome")) interaction["outcome"] = Value("lost");
    if (interaction["outcome"] != Value("lost")) {
      throw CliError(kExitValidation, ctx.tr(Msg::lost_reason_needs_lost));
    }
  }
  if (!args.lost_reason.empty()) {
    interaction["lost_reason"] =
        field_value(ctx, tables::interactions, "lost_reason", args.lost_reason);
  }
  if (!args.revisit.empty())
    interaction["revisit_on"] = Value(date_argument(ctx, args.revisit, "--revisit"));
  if (!args.note.empty())
    interaction["notes"] = field_value(ctx, tables::interactions, "notes", args.note);
  if (!args.amount.empty())
    interaction["amount"] = field_value(ctx, tables::interactions, "amount", args.amount);
  std::optional<Contact> contact;
  if (!args.contact.empty()) {
    contact = find_contact_of(ctx, customer, args.contact);
    interaction["contact_id"] = Value(contact->id);
  }
  std::optional<std::string> due;
  if (!args.follow_up.empty()) due = date_argument(ctx, args.follow_up, "--follow-up");
  const std::string type_label(choice_label("type", interaction["type"].as_text(), ctx.lang()));
  const std::string title =
      !args.follow_up_title.empty()
          ? args.follow_up_title
          : ctx.tr(Msg::followup_default_title,
                   {type_label, ctx.format().date(interaction["date"].as_text())});
  if (due) field_value(ctx, tables::followups, "title", title);  // validated before any write

  const std::string interaction_id = replica.create(tables::interactions, interaction);
  std::optional<std::string> followup_id;
  if (due) {
    Record followup{{"customer_id", Value(customer.id)},
                    {"interaction_id", Value(interaction_id)},
                    {"due", Value(*due)},
                    {"title", Value(title)}};
    if (contact) followup["contact_id"] = Value(contact->id);
    followup_id = replica.create(tables::followups, followup);
  }

  if (ctx.json) {
    nlohmann::json out;
    out["interaction"] = entity_json(*replica.interaction(interaction_id));
    out["followup"] =
        followup_id ? entity_json(*replica.followup(*followup_id)) : nlohmann::json(nullptr);
    print_json(ctx, out);
    return kExitOk;
  }
  std::string outcome;
  if (interaction.count("outcome")) {
    outcome = " (" +
              std::string(choice_label("outcome", interaction["outcome"].as_text(), ctx.lang())) +
              ")";
  }
  ctx.out() << ctx.tr(Msg::interaction_logged,
                      {type_label + outcome, customer.name,
                       ctx.format().date_time(interaction["date"].as_text())})
            << '\n';
  if (due) ctx.out() << ctx.tr(Msg::followup_created, {ctx.format().date(*due), title}) << '\n';
  if (interaction.count("revisit_on")) {
    ctx.out() << ctx.tr(Msg::revisit_set, {ctx.format().date(interaction["revisit_on"].as_text())})
              << '\n';
  }
  return kExitOk;
}

struct PurchaseArgs {
  std::string customer, date, product, quantity, amount, note;
};

int purchase_add(Context& ctx, const PurchaseArgs& args) {
  auto& replica = ctx.replica();
  const Customer customer = find_customer(ctx, args.customer);
  Record purchase{{"customer_id", Value(customer.id)}};
  purchase["date"] =
      Value(args.date.empty() ? ctx.today() : date_argument(ctx, args.date, "--date"));
  purchase["product"] = field_value(ctx, tables::purchases, "product", args.product);
  if (purchase["product"].is_null()) {
    throw CliError(
        kExitValidation,
        describe(InputError{InputProblem::required, tables::purchases, "product", "", {}},
                 ctx.lang()));
  }
  if (!args.quantity.empty())
    purchase["quantity"] = field_value(ctx, tables::purchases, "quantity", args.quantity);
  purchase["amount"] = field_value(ctx, tables::purchases, "amount", args.amount);
  if (purchase["amount"].is_null()) {
    throw CliError(kExitValidation,
                   describe(InputError{InputProblem::required, tables::purchases, "amount", "", {}},
                            ctx.lang()));
  }
  if (!args.note.empty())
    purchase["notes"] = field_value(ctx, tables::purchases, "notes", args.note);
  const std::string id = replica.create(tables::purchases, purchase);
  const Purchase stored = *replica.purchase(id);
  if (ctx.json) {
    print_json(ctx, entity_json(stored));
    return kExitOk;
  }
  const auto& fmt = ctx.format();
  std::string what = stored.product;
  if (stored.quantity) what = fmt.number(*stored.quantity) + " × " + what;
  ctx.out() << ctx.tr(Msg::purchase_logged,
                      {what, fmt.amount(stored.amount), customer.name, fmt.date(stored.date)})
            << '\n';
  return kExitOk;
}

int purchase_list(Context& ctx, const std::string& which) {
  const Customer customer = find_customer(ctx, which);
  const auto purchases = ctx.replica().purchases_of(customer.id);
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : purchases) out.push_back(entity_json(p));
    print_json(ctx, out);
    return kExitOk;
  }
  const auto& fmt = ctx.format();
  TextTable rows;
  double total = 0;
  for (const auto& p : purchases) {
    rows.add_row({fmt.date(p.date), p.product, p.quantity ? fmt.number(*p.quantity) : "",
                  fmt.amount(p.amount)});
    total += p.amount;
  }
  rows.print(ctx.out(), "");
  ctx.out() << ctx.tr(Msg::purchases_listed, {std::to_string(purchases.size()), fmt.amount(total)})
            << '\n';
  return kExitOk;
}

int followups_list(Context& ctx) {
  const std::string today = ctx.today();
  const auto due = ctx.replica().followups_due(add_days(today, kFollowUpWindowDays - 1));
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : due) {
      auto item = entity_json(d.followup);
      item["customer_name"] = d.customer_name;
      const auto days = days_between(today, d.followup.due);
      item["days_until"] = days;
      item["when"] = days < 0 ? "overdue" : days == 0 ? "today" : "this_week";
      out.push_back(item);
    }
    print_json(ctx, out);
    return kExitOk;
  }
  const auto& fmt = ctx.format();
  const auto section = [&](Msg heading, auto in_section) {
    TextTable rows;
    for (const auto& d : due) {
      const auto days = days_between(today, d.followup.due);
      if (!in_section(days)) continue;
      std::string when = fmt.date(d.followup.due);
      if (days < 0) when += " (" + ctx.tr(Msg::days_overdue, {std::to_string(-days)}) + ")";
      rows.add_row({when, d.customer_name, d.followup.title, d.followup.id});
    }
    if (rows.empty()) return;
    ctx.out() << ctx.tr(heading) << '\n';
    rows.print(ctx.out());
  };
  if (due.empty()) {
    ctx.out() << ctx.tr(Msg::followups_none) << '\n';
    return kExitOk;
  }
  section(Msg::followups_overdue, [](std::int64_t d) { return d < 0; });
  section(Msg::followups_today, [](std::int64_t d) { return d == 0; });
  section(Msg::followups_week, [](std::int64_t d) { return d > 0; });
  return kExitOk;
}

int followup_done(Context& ctx, const std::string& which) {
  auto& replica = ctx.replica();
  std::optional<FollowUp> followup = replica.followup(which);
  if (!followup) {
    // A unique prefix of a pending follow-up's id, as shown by `libreta followups`.
    std::vector<FollowUp> matches;
    if (which.size() >= 4) {
      for (const auto& d : replica.followups_due("9999-12-31")) {
        if (d.followup.id.compare(0, which.size(), which) == 0) matches.push_back(d.followup);
      }
    }
    if (matches.size() > 1)
      throw CliError(kExitValidation, ctx.tr(Msg::followup_ambiguous, {which}));
    if (matches.empty()) throw CliError(kExitValidation, ctx.tr(Msg::followup_not_found, {which}));
    followup = matches.front();
  }
  replica.update(tables::followups, followup->id,
                 Record{{"done", Value(true)}, {"done_at", Value(ctx.now_utc())}});
  const FollowUp after = *replica.followup(followup->id);
  if (ctx.json) {
    print_json(ctx, entity_json(after));
  } else {
    ctx.out() << ctx.tr(Msg::followup_done, {after.title}) << '\n';
  }
  return kExitOk;
}

struct FollowUpAddArgs {
  std::string customer, due, title, note, contact;
};

int followup_add(Context& ctx, const FollowUpAddArgs& args) {
  auto& replica = ctx.replica();
  const Customer customer = find_customer(ctx, args.customer);
  Record followup{{"customer_id", Value(customer.id)}};
  followup["due"] = Value(date_argument(ctx, args.due, "--due"));
  followup["title"] = field_value(ctx, tables::followups, "title", args.title);
  if (followup["title"].is_null()) {
    throw CliError(kExitValidation,
                   describe(InputError{InputProblem::required, tables::followups, "title", "", {}},
                            ctx.lang()));
  }
  if (!args.note.empty())
    followup["notes"] = field_value(ctx, tables::followups, "notes", args.note);
  if (!args.contact.empty())
    followup["contact_id"] = Value(find_contact_of(ctx, customer, args.contact).id);
  const std::string id = replica.create(tables::followups, followup);
  if (ctx.json) {
    print_json(ctx, entity_json(*replica.followup(id)));
  } else {
    ctx.out() << ctx.tr(Msg::followup_created,
                        {ctx.format().date(followup["due"].as_text()), followup["title"].as_text()})
              << '\n';
  }
  return kExitOk;
}

}  // namespace

void add_activity_commands(CLI::App& app, Context& ctx, Action& action) {
  auto log_args = std::make_shared<LogArgs>();
  auto* log = app.add_subcommand("log", ctx.tr(Msg::help_log));
  log->alias("registrar");
  log->add_option("customer", log_args->customer, ctx.tr(Msg::help_customer_arg))->required();
  log->add_option("--type", log_args->type, ctx.tr(Msg::help_log_type));
  log->add_option("--outcome", log_args->outcome, ctx.tr(Msg::help_log_outcome));
  log->add_option("--note", log_args->note, ctx.tr(Msg::help_log_note));
  log->add_option("--date", log_args->date, ctx.tr(Msg::help_log_date));
  log->add_option("--contact", log_args->contact, ctx.tr(Msg::help_log_contact));
  log->add_option("--amount", log_args->amount, ctx.tr(Msg::help_log_amount));
  log->add_option("--follow-up", log_args->follow_up, ctx.tr(Msg::help_log_follow_up))
      ->type_name("DATE");
  log->add_option("--follow-up-title", log_args->follow_up_title,
                  ctx.tr(Msg::help_log_follow_up_title));
  log->add_option("--lost-reason", log_args->lost_reason, ctx.tr(Msg::help_log_lost_reason));
  log->add_option("--revisit", log_args->revisit, ctx.tr(Msg::help_log_revisit))->type_name("DATE");
  choose(*log, action, ctx, log_args, log_interaction);

  auto* purchase = app.add_subcommand("purchase", ctx.tr(Msg::help_purchase));
  purchase->alias("compra");
  purchase->require_subcommand(1);
  auto purchase_args = std::make_shared<PurchaseArgs>();
  auto* add = purchase->add_subcommand("add", ctx.tr(Msg::help_purchase_add));
  add->add_option("customer", purchase_args->customer, ctx.tr(Msg::help_customer_arg))->required();
  add->add_option("--date", purchase_args->date, ctx.tr(Msg::help_purchase_date));
  add->add_option("--product", purchase_args->product, ctx.tr(Msg::help_purchase_product))
      ->required();
  add->add_option("--qty", purchase_args->quantity, ctx.tr(Msg::help_purchase_qty));
  add->add_option("--amount", purchase_args->amount, ctx.tr(Msg::help_purchase_amount))->required();
  add->add_option("--note", purchase_args->note, ctx.tr(Msg::help_log_note));
  choose(*add, action, ctx, purchase_args, purchase_add);
  auto purchase_customer = std::make_shared<std::string>();
  auto* list = purchase->add_subcommand("list", ctx.tr(Msg::help_purchase_list));
  list->add_option("customer", *purchase_customer, ctx.tr(Msg::help_customer_arg))->required();
  choose(*list, action, ctx, purchase_customer, purchase_list);

  auto* followups = app.add_subcommand("followups", ctx.tr(Msg::help_followups));
  followups->alias("seguimientos");
  followups->require_subcommand(0, 1);
  auto* followups_list_cmd = followups->add_subcommand("list", ctx.tr(Msg::help_followups_list));
  choose(*followups_list_cmd, action, [&ctx] { return followups_list(ctx); });
  auto done_id = std::make_shared<std::string>();
  auto* done = followups->add_subcommand("done", ctx.tr(Msg::help_followups_done));
  done->add_option("id", *done_id, ctx.tr(Msg::help_followup_id))->required();
  choose(*done, action, ctx, done_id, followup_done);
  auto followup_args = std::make_shared<FollowUpAddArgs>();
  auto* followup_add_cmd = followups->add_subcommand("add", ctx.tr(Msg::help_followups_add));
  followup_add_cmd->add_option("customer", followup_args->customer, ctx.tr(Msg::help_customer_arg))
      ->required();
  followup_add_cmd->add_option("--due", followup_args->due, ctx.tr(Msg::help_followup_due))
      ->required();
  followup_add_cmd->add_option("--title", followup_args->title, ctx.tr(Msg::help_followup_title))
      ->required();
  followup_add_cmd->add_option("--note", followup_args->note, ctx.tr(Msg::help_log_note));
  followup_add_cmd->add_option("--contact", followup_args->contact, ctx.tr(Msg::help_log_contact));
  choose(*followup_add_cmd, action, ctx, followup_args, followup_add);
  followups->callback([&ctx, &action, followups] {
    if (followups->get_subcommands().empty()) action = [&ctx] { return followups_list(ctx); };
  });
}

}  // namespace libreta::cli
