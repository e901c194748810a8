// libreta contact add|edit|list|delete: the representatives of a customer.
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>

#include "cli_error.hpp"
#include "commands.hpp"
#include "customer_lookup.hpp"
#include "field_input.hpp"
#include "output.hpp"

namespace libreta::cli {
namespace {

const TableSpec& contacts_table() {
  return *customer_book_schema().table(tables::contacts);
}

const std::vector<ShortFlag>& contact_flags() {
  static const std::vector<ShortFlag> flags = {
      {"--name", "name", Msg::help_contact_name},
      {"--role", "role", Msg::help_contact_role},
      {"--mobile", "mobile", Msg::help_field_mobile},
      {"--phone", "phone", Msg::help_field_phone},
      {"--email", "email", Msg::help_field_email},
      {"--address", "address", Msg::help_contact_address},
      {"--birthday", "birthday", Msg::help_contact_birthday},
      {"--notes", "personal_notes", Msg::help_contact_notes},
      {"--tag", "tags", Msg::help_field_tag},
  };
  return flags;
}

struct ContactArgs {
  std::string target;  // the customer (add, list) or the contact id (edit, delete)
  FieldArgs fields;
};

Contact find_contact(Context& ctx, const std::string& id) {
  auto contact = ctx.replica().contact(id);
  if (!contact) throw CliError(kExitValidation, ctx.tr(Msg::contact_not_found, {id}));
  return *contact;
}

int contact_add(Context& ctx, const ContactArgs& args) {
  auto& replica = ctx.replica();
  const Customer customer = find_customer(ctx, args.target);
  Record record = build_record(ctx, contacts_table(), args.fields);
  if (record.count("customer_id"))
    throw CliError(kExitValidation, ctx.tr(Msg::contact_customer_fixed));
  if (!record.count("name")) {
    throw CliError(
        kExitValidation,
        describe(InputError{InputProblem::required, tables::contacts, "name", "", {}}, ctx.lang()));
  }
  record["customer_id"] = Value(customer.id);
  const std::string id = replica.create(tables::contacts, record);
  const Contact contact = *replica.contact(id);
  if (ctx.json) {
    print_json(ctx, entity_json(contact));
  } else {
    ctx.out() << ctx.tr(Msg::contact_created, {contact.name, customer.name, id}) << '\n';
  }
  return kExitOk;
}

int contact_edit(Context& ctx, const ContactArgs& args) {
  auto& replica = ctx.replica();
  const Contact before = find_contact(ctx, args.target);
  Record record = build_record(ctx, contacts_table(), args.fields, before.tags);
  if (record.empty()) throw CliError(kExitUsage, ctx.tr(Msg::nothing_to_change));
  if (record.count("customer_id") && record["customer_id"].is_text() &&
      !replica.customer(record["customer_id"].as_text())) {
    throw CliError(kExitValidation,
                   ctx.tr(Msg::customer_not_found, {record["customer_id"].as_text()}));
  }
  const std::size_t changed = replica.update(tables::contacts, before.id, record);
  const Contact after = *replica.contact(before.id);
  if (ctx.json) {
    print_json(ctx, nlohmann::json{{"changed", changed}, {"contact", entity_json(after)}});
  } else {
    ctx.out() << ctx.tr(Msg::contact_updated, {after.name, std::to_string(changed)}) << '\n';
  }
  return kExitOk;
}

int contact_list(Context& ctx, const ContactArgs& args) {
  auto& replica = ctx.replica();
  std::vector<std::pair<Customer, std::vector<Contact>>> groups;
  if (!args.target.empty()) {
    Customer customer = find_customer(ctx, args.target);
    auto contacts = replica.contacts_of(customer.id);
    groups.emplace_back(std::move(customer), std::move(contacts));
  } else {
    client::CustomerFilter everyone;
    everyone.limit = SIZE_MAX;
    for (auto& customer : replica.list_customers(everyone)) {
      auto contacts = replica.contacts_of(customer.id);
      if (!contacts.empty()) groups.emplace_back(std::move(customer), std::move(contacts));
    }
  }
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [customer, contacts] : groups) {
      for (const auto& c : contacts) {
        auto item = entity_json(c);
        item["customer_name"] = customer.name;
        out.push_back(item);
      }
    }
    print_json(ctx, out);
    return kExitOk;
  }
  std::size_t count = 0;
  TextTable rows;
  for (const auto& [customer, contacts] : groups) {
    for (const auto& c : contacts) {
      rows.add_row({c.name, c.role.value_or(""), customer.name,
                    c.mobile.value_or(c.phone.value_or("")), c.email.value_or(""), c.id});
      ++count;
    }
  }
  rows.print(ctx.out(), "");
  ctx.out() << ctx.tr(Msg::contacts_listed, {std::to_string(count)}) << '\n';
  return kExitOk;
}

int contact_delete(Context& ctx, const ContactArgs& args) {
  const Contact contact = find_contact(ctx, args.target);
  ctx.replica().remove(tables::contacts, contact.id);
  if (ctx.json) {
    print_json(ctx, nlohmann::json{{"deleted", contact.id}, {"name", contact.name}});
  } else {
    ctx.out() << ctx.tr(Msg::contact_deleted, {contact.name}) << '\n';
  }
  return kExitOk;
}

}  // namespace

void add_contact_commands(CLI::App& app, Context& ctx, Action& action) {
  auto* contact = app.add_subcommand("contact", ctx.tr(Msg::help_contact));
  contact->alias("contacto");
  contact->require_subcommand(1);

  auto add_args = std::make_shared<ContactArgs>();
  auto* add = contact->add_subcommand("add", ctx.tr(Msg::help_contact_add));
  add->add_option("customer", add_args->target, ctx.tr(Msg::help_customer_arg))->required();
  add_field_options(*add, ctx, add_args->fields, contact_flags());
  choose(*add, action, ctx, add_args, contact_add);

  auto edit_args = std::make_shared<ContactArgs>();
  auto* edit = contact->add_subcommand("edit", ctx.tr(Msg::help_contact_edit));
  edit->add_option("contact", edit_args->target, ctx.tr(Msg::help_contact_arg))->required();
  add_field_options(*edit, ctx, edit_args->fields, contact_flags());
  choose(*edit, action, ctx, edit_args, contact_edit);

  auto list_args = std::make_shared<ContactArgs>();
  auto* list = contact->add_subcommand("list", ctx.tr(Msg::help_contact_list));
  list->add_option("customer", list_args->target, ctx.tr(Msg::help_customer_arg_optional));
  choose(*list, action, ctx, list_args, contact_list);

  auto delete_args = std::make_shared<ContactArgs>();
  auto* remove = contact->add_subcommand("delete", ctx.tr(Msg::help_contact_delete));
  remove->add_option("contact", delete_args->target, ctx.tr(Msg::help_contact_arg))->required();
  choose(*remove, action, ctx, delete_args, contact_delete);
}

}  // namespace libreta::cli
