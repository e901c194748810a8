// Clientes / Customers: search as you type, filters and order, a page at a time. The same
// URL with partial=1 answers only the results, which the page's script puts in place as the
// seller types; without scripts the form's button does the same with a whole page.
#include "field_input.hpp"
#include "screen.hpp"

namespace libreta::cli::app {
namespace {

constexpr std::size_t kPageSize = 50;

struct SortChoice {
  const char* value;
  client::CustomerSort sort;
  Msg label;
};
constexpr SortChoice kSorts[] = {
    {"name", client::CustomerSort::name, Msg::app_sort_name},
    {"last_contact", client::CustomerSort::last_contact, Msg::app_sort_last_contact},
    {"revenue", client::CustomerSort::revenue, Msg::app_sort_revenue},
    {"relevance", client::CustomerSort::relevance, Msg::app_sort_relevance},
};

std::optional<std::string> filter_value(const Screen& s, std::string_view name) {
  std::string value(trim(s.query.value(name)));
  if (value.empty()) return std::nullopt;
  return value;
}

std::string choice_filter(const Screen& s, const TableSpec& table, const char* name) {
  const FieldSpec* field = table.field(name);
  const std::string current = s.query.value(name);
  std::string out = "<div class=\"field\"><label for=\"filter-" + std::string(name) + "\">" +
                    h(field_label(name, s.lang)) + "</label><select id=\"filter-" + name +
                    "\" name=\"" + name + "\"><option value=\"\">" + h(s.tr(Msg::app_any)) +
                    "</option>";
  for (const auto& choice : field->choices) {
    out += "<option value=\"" + h(choice) + "\"" + (choice == current ? " selected" : "") + ">" +
           h(choice_label(name, choice, s.lang)) + "</option>";
  }
  return out + "</select></div>";
}

std::string text_filter(const Screen& s, const char* name, std::string_view label) {
  return "<div class=\"field\"><label for=\"filter-" + std::string(name) + "\">" + h(label) +
         "</label><input type=\"text\" id=\"filter-" + name + "\" name=\"" + name + "\" value=\"" +
         h(s.query.value(name)) + "\"></div>";
}

std::string results_html(const Screen& s, const client::CustomerListing& listing,
                         std::size_t page_number, client::CustomerSort sort,
                         std::string_view text) {
  std::string out = "<p class=\"total\" role=\"status\">" +
                    h(s.tr(Msg::customers_listed, {std::to_string(listing.total)})) + "</p>";
  if (listing.by_name_start) {
    out += "<p class=\"hint\">" + h(s.tr(Msg::app_search_name_start, {std::string(text)})) + "</p>";
  }
  if (listing.customers.empty()) {
    return out + "<p class=\"empty\">" + h(s.tr(Msg::app_no_customers)) + "</p>";
  }
  out += "<ul class=\"items customers\">";
  for (const auto& listed : listing.customers) {
    const Customer& c = listed.customer;
    std::string detail(choice_label("status", c.status, s.lang));
    if (c.city) detail += " · " + *c.city;
    if (sort == client::CustomerSort::revenue && c.annual_revenue) {
      detail += " · " + s.format.amount(*c.annual_revenue);
    }
    detail += " · " + (listed.last_contact ? s.tr(Msg::app_last_contact_short,
                                                  {relative_day(s, *listed.last_contact)})
                                           : s.tr(Msg::never_contacted));
    out += "<li><a class=\"item\" href=\"" + path_of("customers", c.id) + "\"><strong>" +
           h(c.name) + "</strong>";
    if (c.trade_name && *c.trade_name != c.name) {
      out += " <span class=\"trade\">" + h(*c.trade_name) + "</span>";
    }
    out += "<span class=\"detail\">" + h(detail) + "</span></a></li>";
  }
  out += "</ul>";
  // Pages: links carrying the same filters.
  const std::size_t pages = (listing.total + kPageSize - 1) / kPageSize;
  if (pages > 1) {
    const auto link = [&](std::size_t number, Msg label) {
      web::Params params;
      for (const auto& [key, value] : s.query.items()) {
        if (key != "page" && key != "partial" && !value.empty()) params.add(key, value);
      }
      params.add("page", std::to_string(number));
      return "<a class=\"button secondary\" href=\"/customers?" + h(params.encode()) + "\">" +
             h(s.tr(label)) + "</a>";
    };
    out += "<nav class=\"pager\">";
    if (page_number > 1) out += link(page_number - 1, Msg::app_previous);
    out += "<span>" +
           h(s.tr(Msg::app_page_of, {std::to_string(page_number), std::to_string(pages)})) +
           "</span>";
    if (page_number < pages) out += link(page_number + 1, Msg::app_next);
    out += "</nav>";
  }
  return out;
}

}  // namespace

web::Response customers_screen(Screen& s) {
  const TableSpec& table = *customer_book_schema().table(tables::customers);
  client::CustomerQuery query;
  query.text = s.query.value("q");
  query.filter.status = filter_value(s, "status");
  query.filter.relationship = filter_value(s, "relationship");
  query.filter.segment = filter_value(s, "segment");
  query.filter.city = filter_value(s, "city");
  query.filter.tag = filter_value(s, "tag");
  query.filter.owner = filter_value(s, "owner");
  const std::string sort_name = s.query.value("sort");
  query.sort =
      trim(query.text).empty() ? client::CustomerSort::name : client::CustomerSort::relevance;
  for (const SortChoice& choice : kSorts) {
    if (sort_name == choice.value) query.sort = choice.sort;
  }
  std::size_t page_number = 1;
  try {
    page_number = std::max<std::size_t>(1, std::stoul(s.query.value("page")));
  } catch (const std::exception&) {
  }
  page_number = std::min<std::size_t>(page_number, 100'000);
  query.offset = (page_number - 1) * kPageSize;
  query.limit = kPageSize;
  const auto listing = s.replica.customer_listing(query, s.today);
  std::string results = results_html(s, listing, page_number, query.sort, trim(query.text));
  if (s.query.value("partial") == "1") return web::Response::html(std::move(results));

  const bool filtered = query.filter.status || query.filter.relationship || query.filter.segment ||
                        query.filter.city || query.filter.tag || query.filter.owner ||
                        !sort_name.empty();
  std::string content = "<h1>" + h(s.tr(Msg::app_tab_customers)) + "</h1>";
  content += "<form class=\"search\" method=\"get\" action=\"/customers\" role=\"search\">";
  content += "<label class=\"visually-hidden\" for=\"q\">" + h(s.tr(Msg::app_search_label)) +
             "</label><input type=\"search\" id=\"q\" name=\"q\" value=\"" + h(query.text) +
             "\" placeholder=\"" + h(s.tr(Msg::app_search_placeholder)) +
             "\" autocomplete=\"off\" data-live-search>";
  content += std::string("<details class=\"filters\"") + (filtered ? " open" : "") + "><summary>" +
             h(s.tr(Msg::app_filters)) + "</summary><div class=\"grid\">";
  content += choice_filter(s, table, "status");
  content += choice_filter(s, table, "relationship");
  content += choice_filter(s, table, "segment");
  content += text_filter(s, "city", field_label("city", s.lang));
  content += text_filter(s, "tag", s.tr(Msg::app_tag));
  content += text_filter(s, "owner", field_label("owner", s.lang));
  content += "<div class=\"field\"><label for=\"sort\">" + h(s.tr(Msg::app_sort)) +
             "</label><select id=\"sort\" name=\"sort\">";
  for (const SortChoice& choice : kSorts) {
    content += "<option value=\"" + std::string(choice.value) + "\"" +
               (choice.sort == query.sort ? " selected" : "") + ">" + h(s.tr(choice.label)) +
               "</option>";
  }
  content += "</select></div></div></details>";
  content += "<button type=\"submit\">" + h(s.tr(Msg::app_search_button)) + "</button></form>";
  content += "<div id=\"results\" aria-live=\"polite\">" + results + "</div>";
  return page(s, s.tr(Msg::app_tab_customers), content, Tab::customers);
}

}  // namespace libreta::cli::app
