// libreta customer add|edit|show|list|delete.
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

// Interactions and purchases shown by `customer show`.
constexpr std::size_t kRecentShown = 10;

const TableSpec& customers_table() {
  return *customer_book_schema().table(tables::customers);
}

const std::vector<ShortFlag>& customer_flags() {
  static const std::vector<ShortFlag> flags = {
      {"--name", "name", Msg::help_field_name},
      {"--kind", "kind", Msg::help_field_kind},
      {"--status", "status", Msg::help_field_status},
      {"--city", "city", Msg::help_field_city},
      {"--region", "region", Msg::help_field_region},
      {"--phone", "phone", Msg::help_field_phone},
      {"--mobile", "mobile", Msg::help_field_mobile},
      {"--email", "email", Msg::help_field_email},
      {"--tax-id", "tax_id", Msg::help_field_tax_id},
      {"--owner", "owner", Msg::help_field_owner},
      {"--segment", "segment", Msg::help_field_segment},
      {"--notes", "notes", Msg::help_field_notes},
      {"--tag", "tags", Msg::help_field_tag},
  };
  return flags;
}

struct AddArgs {
  FieldArgs fields;
};
struct EditArgs {
  std::string customer;
  FieldArgs fields;
};
struct ListArgs {
  std::string status, relationship, segment, city, region, owner, tag;
  std::size_t limit = 1000;
};

std::string status_text(Context& ctx, const Customer& c) {
  return std::string(choice_label("status", c.status, ctx.lang()));
}

int customer_add(Context& ctx, const AddArgs& args) {
  auto& replica = ctx.replica();
  Record record = build_record(ctx, customers_table(), args.fields);
  if (!record.count("name")) {
    throw CliError(kExitValidation,
                   describe(InputError{InputProblem::required, tables::customers, "name", "", {}},
                            ctx.lang()));
  }
  if (!record.count("kind")) record["kind"] = Value("company");
  if (!record.count("status")) record["status"] = Value("prospect");
  if (!record.count("owner")) {
    if (auto owner = replica.setting(kOwnerSetting); owner && !owner->empty())
      record["owner"] = Value(*owner);
  }
  record["created_at"] = Value(ctx.now_utc());
  const std::string id = replica.create(tables::customers, record);
  const Customer customer = *replica.customer(id);
  if (ctx.json) {
    print_json(ctx, entity_json(customer));
  } else {
    ctx.out() << ctx.tr(Msg::customer_created, {customer.name, id}) << '\n';
  }
  return kExitOk;
}

int customer_edit(Context& ctx, const EditArgs& args) {
  auto& replica = ctx.replica();
  const Customer before = find_customer(ctx, args.customer);
  Record record = build_record(ctx, customers_table(), args.fields, before.tags);
  if (record.empty()) throw CliError(kExitUsage, ctx.tr(Msg::nothing_to_change));
  // updated_at goes in the same write, and only when something else changes.
  const Record current = to_record(before);
  const bool differs = std::any_of(record.begin(), record.end(), [&](const auto& entry) {
    auto it = current.find(entry.first);
    return it == current.end() ? !entry.second.is_null() : it->second != entry.second;
  });
  const bool stamped = differs && !record.count("updated_at");
  if (stamped) record["updated_at"] = Value(ctx.now_utc());
  std::size_t changed = replica.update(tables::customers, before.id, record);
  if (stamped && changed > 0) --changed;  // updated_at itself
  const Customer after = *replica.customer(before.id);
  if (ctx.json) {
    auto out = entity_json(after);
    print_json(ctx, nlohmann::json{{"changed", changed}, {"customer", out}});
  } else {
    ctx.out() << ctx.tr(Msg::customer_updated, {after.name, std::to_string(changed)}) << '\n';
  }
  return kExitOk;
}

void print_fields(Context& ctx, const TableSpec& table, const Record& record,
                  const std::vector<std::string>& skip) {
  TextTable lines;
  for (const auto& field : table.fields) {
    if (std::find(skip.begin(), skip.end(), field.name) != skip.end()) continue;
    auto it = record.find(field.name);
    if (it == record.end() || it->second.is_null()) continue;
    std::string value = display_value(field, it->second, ctx.format());
    for (auto& c : value) {
      if (c == '\n') c = ' ';
    }
    lines.add_row({std::string(field_label(field.name, ctx.lang())) + ":", value});
  }
  lines.print(ctx.out());
}

int customer_show(Context& ctx, const std::string& which) {
  auto& replica = ctx.replica();
  const Customer customer = find_customer(ctx, which);
  const std::string today = ctx.today();
  const auto contacts = replica.contacts_of(customer.id);
  auto interactions = replica.interactions_of(customer.id);
  auto purchases = replica.purchases_of(customer.id);
  const auto followups = replica.followups_of(customer.id);
  const auto behaviour = replica.behaviour(customer.id, today);
  std::optional<client::RfmScore> rfm;
  for (const auto& score : replica.rfm(today).customers) {
    if (score.customer_id == customer.id) rfm = score;
  }
  if (interactions.size() > kRecentShown) interactions.resize(kRecentShown);
  if (purchases.size() > kRecentShown) purchases.resize(kRecentShown);

  if (ctx.json) {
    nlohmann::json out;
    out["customer"] = entity_json(customer);
    out["contacts"] = nlohmann::json::array();
    for (const auto& c : contacts) out["contacts"].push_back(entity_json(c));
    out["interactions"] = nlohmann::json::array();
    for (const auto& i : interactions) out["interactions"].push_back(entity_json(i));
    out["purchases"] = nlohmann::json::array();
    for (const auto& p : purchases) out["purchases"].push_back(entity_json(p));
    out["followups"] = nlohmann::json::array();
    for (const auto& f : followups) out["followups"].push_back(entity_json(f));
    nlohmann::json b;
    b["purchase_count"] = behaviour.purchase_count;
    b["first_purchase"] =
        behaviour.first_purchase ? nlohmann::json(*behaviour.first_purchase) : nullptr;
    b["last_purchase"] =
        behaviour.last_purchase ? nlohmann::json(*behaviour.last_purchase) : nullptr;
    b["days_since_last"] =
        behaviour.days_since_last ? nlohmann::json(*behaviour.days_since_last) : nullptr;
    b["total_spend"] = behaviour.total_spend;
    b["orders_per_month"] = behaviour.orders_per_month;
    b["average_monthly_spend"] = behaviour.average_monthly_spend;
    b["rfm_segment"] = rfm ? nlohmann::json(rfm->segment) : nullptr;
    if (rfm) b["rfm"] = {{"r", rfm->r}, {"f", rfm->f}, {"m", rfm->m}};
    out["behaviour"] = b;
    print_json(ctx, out);
    return kExitOk;
  }

  auto& out = ctx.out();
  const auto& fmt = ctx.format();
  out << customer.name << "  (" << status_text(ctx, customer) << ")\n";
  out << "  id: " << customer.id << '\n';
  print_fields(ctx, customers_table(), to_record(customer), {"name", "status"});

  out << '\n' << ctx.tr(Msg::show_contacts, {std::to_string(contacts.size())}) << '\n';
  TextTable contact_rows;
  for (const auto& c : contacts) {
    contact_rows.add_row({c.name, c.role.value_or(""), c.mobile.value_or(c.phone.value_or("")),
                          c.email.value_or(""), c.birthday ? fmt.date(*c.birthday) : "", c.id});
  }
  contact_rows.print(out);

  out << '\n' << ctx.tr(Msg::show_interactions, {std::to_string(interactions.size())}) << '\n';
  for (const auto& i : interactions) {
    std::string line =
        "  " + fmt.date(i.date) + "  " + std::string(choice_label("type", i.type, ctx.lang()));
    if (i.outcome) line += " · " + std::string(choice_label("outcome", *i.outcome, ctx.lang()));
    if (i.amount) line += " · " + fmt.amount(*i.amount);
    if (i.lost_reason) line += " · " + ctx.tr(Msg::show_lost_reason, {*i.lost_reason});
    if (i.revisit_on) line += " · " + ctx.tr(Msg::show_revisit_on, {fmt.date(*i.revisit_on)});
    if (i.notes) {
      std::string note = *i.notes;
      std::replace(note.begin(), note.end(), '\n', ' ');
      line += " — " + note;
    }
    out << line << '\n';
  }

  out << '\n' << ctx.tr(Msg::show_purchases, {std::to_string(purchases.size())}) << '\n';
  TextTable purchase_rows;
  for (const auto& p : purchases) {
    purchase_rows.add_row({fmt.date(p.date), p.product,
                           p.quantity ? "× " + fmt.number(*p.quantity) : "", fmt.amount(p.amount)});
  }
  purchase_rows.print(out);

  std::size_t pending = 0;
  for (const auto& f : followups) pending += f.done ? 0 : 1;
  out << '\n' << ctx.tr(Msg::show_followups, {std::to_string(pending)}) << '\n';
  for (const auto& f : followups) {
    if (f.done) continue;
    const auto days = days_between(today, f.due);
    std::string when = fmt.date(f.due);
    if (days < 0) when += " (" + ctx.tr(Msg::days_overdue, {std::to_string(-days)}) + ")";
    if (days == 0) when += " (" + ctx.tr(Msg::word_today) + ")";
    out << "  " << when << "  " << f.title << "  [" << f.id << "]\n";
  }

  out << '\n' << ctx.tr(Msg::show_behaviour) << '\n';
  if (behaviour.purchase_count == 0) {
    out << "  " << ctx.tr(Msg::show_no_purchases) << '\n';
  } else {
    TextTable rows;
    rows.add_row(
        {ctx.tr(Msg::show_last_purchase),
         fmt.date(*behaviour.last_purchase) + " (" +
             ctx.tr(Msg::days_ago, {std::to_string(behaviour.days_since_last.value_or(0))}) + ")"});
    rows.add_row({ctx.tr(Msg::show_orders),
                  std::to_string(behaviour.purchase_count) + " · " +
                      ctx.tr(Msg::per_month, {fmt.number(behaviour.orders_per_month)})});
    rows.add_row({ctx.tr(Msg::show_monthly_spend), fmt.amount(behaviour.average_monthly_spend)});
    rows.add_row({ctx.tr(Msg::show_total_spend), fmt.amount(behaviour.total_spend)});
    if (rfm) {
      rows.add_row({ctx.tr(Msg::show_rfm_segment),
                    std::string(choice_label("rfm_segment", rfm->segment, ctx.lang())) + " (R" +
                        std::to_string(rfm->r) + " F" + std::to_string(rfm->f) + " M" +
                        std::to_string(rfm->m) + ")"});
    }
    rows.print(out);
  }
  return kExitOk;
}

bool same_folded(const OptText& value, const std::string& wanted) {
  return value && fold_text(*value) == fold_text(wanted);
}

int customer_list(Context& ctx, const ListArgs& args) {
  auto& replica = ctx.replica();
  const TableSpec& table = customers_table();
  client::CustomerFilter filter;
  filter.limit = SIZE_MAX;
  if (!args.status.empty()) filter.status = choice_argument(ctx, table, "status", args.status);
  if (!args.relationship.empty()) {
    filter.relationship = choice_argument(ctx, table, "relationship", args.relationship);
  }
  if (!args.segment.empty()) filter.segment = choice_argument(ctx, table, "segment", args.segment);
  // City, region, owner and tag are typed freely: compared without case or accents.
  std::vector<Customer> customers;
  for (auto& c : replica.list_customers(filter)) {
    if (!args.city.empty() && !same_folded(c.city, args.city)) continue;
    if (!args.region.empty() && !same_folded(c.region, args.region)) continue;
    if (!args.owner.empty() && !same_folded(c.owner, args.owner)) continue;
    if (!args.tag.empty() && std::none_of(c.tags.begin(), c.tags.end(), [&](const std::string& t) {
          return fold_text(t) == fold_text(args.tag);
        })) {
      continue;
    }
    customers.push_back(std::move(c));
    if (customers.size() >= args.limit) break;
  }
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : customers) out.push_back(entity_json(c));
    print_json(ctx, out);
    return kExitOk;
  }
  TextTable rows;
  for (const auto& c : customers) {
    rows.add_row({c.name, status_text(ctx, c), c.city.value_or(""),
                  c.mobile.value_or(c.phone.value_or("")), c.owner.value_or(""), c.id});
  }
  rows.print(ctx.out(), "");
  ctx.out() << ctx.tr(Msg::customers_listed, {std::to_string(customers.size())}) << '\n';
  return kExitOk;
}

int customer_delete(Context& ctx, const std::string& which) {
  auto& replica = ctx.replica();
  const Customer customer = find_customer(ctx, which);
  replica.remove(tables::customers, customer.id);
  if (ctx.json) {
    print_json(ctx, nlohmann::json{{"deleted", customer.id}, {"name", customer.name}});
  } else {
    ctx.out() << ctx.tr(Msg::customer_deleted, {customer.name, customer.id}) << '\n';
  }
  return kExitOk;
}

}  // namespace

void add_customer_commands(CLI::App& app, Context& ctx, Action& action) {
  auto* customer = app.add_subcommand("customer", ctx.tr(Msg::help_customer));
  customer->alias("cliente");
  customer->require_subcommand(1);

  auto add_args = std::make_shared<AddArgs>();
  auto* add = customer->add_subcommand("add", ctx.tr(Msg::help_customer_add));
  add_field_options(*add, ctx, add_args->fields, customer_flags());
  choose(*add, action, ctx, add_args, customer_add);

  auto edit_args = std::make_shared<EditArgs>();
  auto* edit = customer->add_subcommand("edit", ctx.tr(Msg::help_customer_edit));
  edit->add_option("customer", edit_args->customer, ctx.tr(Msg::help_customer_arg))->required();
  add_field_options(*edit, ctx, edit_args->fields, customer_flags());
  choose(*edit, action, ctx, edit_args, customer_edit);

  auto show_arg = std::make_shared<std::string>();
  auto* show = customer->add_subcommand("show", ctx.tr(Msg::help_customer_show));
  show->add_option("customer", *show_arg, ctx.tr(Msg::help_customer_arg))->required();
  choose(*show, action, ctx, show_arg, customer_show);

  auto list_args = std::make_shared<ListArgs>();
  auto* list = customer->add_subcommand("list", ctx.tr(Msg::help_customer_list));
  list->add_option("--status", list_args->status, ctx.tr(Msg::help_filter_status));
  list->add_option("--relationship", list_args->relationship,
                   ctx.tr(Msg::help_filter_relationship));
  list->add_option("--segment", list_args->segment, ctx.tr(Msg::help_filter_segment));
  list->add_option("--city", list_args->city, ctx.tr(Msg::help_filter_city));
  list->add_option("--region", list_args->region, ctx.tr(Msg::help_filter_region));
  list->add_option("--owner", list_args->owner, ctx.tr(Msg::help_filter_owner));
  list->add_option("--tag", list_args->tag, ctx.tr(Msg::help_filter_tag));
  list->add_option("--limit", list_args->limit, ctx.tr(Msg::help_limit))
      ->check(CLI::PositiveNumber);
  choose(*list, action, ctx, list_args, customer_list);

  auto delete_arg = std::make_shared<std::string>();
  auto* remove = customer->add_subcommand("delete", ctx.tr(Msg::help_customer_delete));
  remove->add_option("customer", *delete_arg, ctx.tr(Msg::help_customer_arg))->required();
  choose(*remove, action, ctx, delete_arg, customer_delete);
}

}  // namespace libreta::cli
