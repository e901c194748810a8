// libreta demo: a small customer book to try the tool with (README's quick start). Dates are
// relative to today, so follow-ups, birthdays and quiet customers always show something.
#include <ostream>

#include <CLI/CLI.hpp>

#include "cli_error.hpp"
#include "commands.hpp"
#include "output.hpp"

namespace libreta::cli {
namespace {

struct DemoCustomer {
  const char* name;
  const char* kind;
  const char* status;
  const char* tax_id;
  const char* city;
  const char* region;
  const char* phone;
  const char* email;
  const char* segment;
  const char* tags;
};

constexpr DemoCustomer kCustomers[] = {
    {"Ferretería López S.L.", "company", "active", "B12345674", "Salamanca", "Salamanca",
     "923 123 456", "pedidos@ferreterialopez.example", "A", "mayorista,vip"},
    {"Bar El Rincón de Peña", "company", "active", "B87654321", "Zamora", "Zamora", "980 111 222",
     "elrincon@example.com", "B", "hostelería"},
    {"Núñez y Hermanos C.B.", "company", "occasional", "E11223344", "León", "León", "987 333 444",
     "info@nunezhermanos.example", "B", ""},
    {"María José Álvarez", "person", "active", "12345678Z", "Valladolid", "Valladolid",
     "983 555 666", "mjalvarez@example.com", "C", "particular"},
    {"Construcciones Duero S.A.", "company", "prospect", "A47001122", "Valladolid", "Valladolid",
     "983 777 888", "compras@cduero.example", "", "obra"},
    {"Librería Ávila", "company", "inactive", "B05009988", "Ávila", "Ávila", "920 222 333",
     "libreria@avila.example", "C", ""},
};

int demo(Context& ctx) {
  auto& replica = ctx.create_replica();
  client::CustomerFilter any;
  any.limit = 1;
  if (!replica.list_customers(any).empty()) throw CliError(kExitUsage, ctx.tr(Msg::demo_not_empty));
  const std::string today = ctx.today();
  const auto day = [&](int offset) { return add_days(today, offset); };
  std::vector<std::string> ids;
  for (const auto& c : kCustomers) {
    Record r{{"name", Value(c.name)},     {"kind", Value(c.kind)},   {"status", Value(c.status)},
             {"tax_id", Value(c.tax_id)}, {"city", Value(c.city)},   {"region", Value(c.region)},
             {"phone", Value(c.phone)},   {"email", Value(c.email)}, {"country", Value("España")},
             {"owner", Value("demo")}};
    if (*c.segment) r["segment"] = Value(c.segment);
    TagSet tags;
    std::string tag;
    for (const char* p = c.tags;; ++p) {
      if (*p == ',' || *p == 0) {
        if (!tag.empty()) tags.push_back(tag);
        tag.clear();
        if (*p == 0) break;
      } else {
        tag += *p;
      }
    }
    if (!tags.empty()) r["tags"] = Value(tags);
    ids.push_back(replica.create(tables::customers, r));
  }
  replica.update(tables::customers, ids[3],
                 Record{{"birthday", Value("1976-" + day(5).substr(5))}});
  replica.update(tables::customers, ids[0],
                 Record{{"anniversary", Value("2012-" + day(12).substr(5))},
                        {"notes", Value("Cliente desde 2012. Paga a 30 días.")}});

  const std::string ana = replica.create(
      tables::contacts, Record{{"customer_id", Value(ids[0])},
                               {"name", Value("Ana López Martín")},
                               {"role", Value("Gerente")},
                               {"mobile", Value("600 123 456")},
                               {"email", Value("ana@ferreterialopez.example")},
                               {"birthday", Value("1980-" + day(3).substr(5))},
                               {"personal_notes", Value("Dos hijos; le gusta el ciclismo")}});
  replica.create(tables::contacts, Record{{"customer_id", Value(ids[1])},
                                          {"name", Value("José Peña")},
                                          {"role", Value("Propietario")},
                                          {"mobile", Value("611 222 333")}});

  // Purchases: the hardware shop buys every month; the bar now and then; the bookshop long ago.
  for (int month = 0; month < 12; ++month) {
    replica.create(tables::purchases, Record{{"customer_id", Value(ids[0])},
                                             {"date", Value(day(-5 - 30 * month))},
                                             {"product", Value("Tornillería surtida")},
                                             {"quantity", Value(40.0)},
                                             {"amount", Value(1250.5 + 10 * month)}});
  }
  for (int i = 0; i < 3; ++i) {
    replica.create(tables::purchases, Record{{"customer_id", Value(ids[1])},
                                             {"date", Value(day(-20 - 60 * i))},
                                             {"product", Value("Vajilla")},
                                             {"quantity", Value(2.0)},
                                             {"amount", Value(180.0)}});
  }
  replica.create(tables::purchases, Record{{"customer_id", Value(ids[5])},
                                           {"date", Value(day(-400))},
                                           {"product", Value("Estanterías")},
                                           {"amount", Value(2300.0)}});
  replica.create(tables::purchases, Record{{"customer_id", Value(ids[3])},
                                           {"date", Value(day(-95))},
                                           {"product", Value("Herramienta de jardín")},
                                           {"amount", Value(89.9)}});

  const std::string visit =
      replica.create(tables::interactions, Record{{"customer_id", Value(ids[0])},
                                                  {"contact_id", Value(ana)},
                                                  {"type", Value("visit")},
                                                  {"date", Value(day(-2) + "T10:00:00Z")},
                                                  {"outcome", Value("positive")},
                                                  {"notes", Value("Quiere catálogo de otoño")}});
  replica.create(tables::followups, Record{{"customer_id", Value(ids[0])},
                                           {"interaction_id", Value(visit)},
                                           {"due", Value(day(0))},
                                           {"title", Value("Enviar catálogo de otoño")}});
  replica.create(tables::followups, Record{{"customer_id", Value(ids[2])},
                                           {"due", Value(day(-3))},
                                           {"title", Value("Llamar por el pedido pendiente")}});
  replica.create(tables::followups, Record{{"customer_id", Value(ids[4])},
                                           {"due", Value(day(4))},
                                           {"title", Value("Presentar presupuesto de obra")}});
  replica.create(tables::interactions,
                 Record{{"customer_id", Value(ids[4])},
                        {"type", Value("quote")},
                        {"date", Value(day(-60) + "T09:30:00Z")},
                        {"outcome", Value("lost")},
                        {"lost_reason", Value("Precio: eligieron a la competencia")},
                        {"revisit_on", Value(day(-1))},
                        {"amount", Value(15400.0)}});

  if (ctx.json) {
    print_json(ctx, {{"home", ctx.home().string()}, {"customers", ids.size()}});
  } else {
    ctx.out() << ctx.tr(Msg::demo_created, {ctx.home().string(), std::to_string(ids.size())})
              << '\n';
  }
  return kExitOk;
}

}  // namespace

void add_demo_command(CLI::App& app, Context& ctx, Action& action) {
  auto* demo_cmd = app.add_subcommand("demo", ctx.tr(Msg::help_demo));
  choose(*demo_cmd, action, [&ctx] { return demo(ctx); });
}

}  // namespace libreta::cli
