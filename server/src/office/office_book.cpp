// The book: every seller's customers, filtered and paged on the server (in id order, which
// is the order they were created in), and the same selection as a CSV file for a spreadsheet.
#include "libreta/protocol/labels.hpp"
#include "office_impl.hpp"

namespace libreta::server {

namespace {

using office::h;
using office::Text;

// The filters the book takes, each a field of the customers; a tag-set field filters by tag.
constexpr const char* kFilters[] = {"owner", "status", "relationship", "segment",
                                    "city",  "region", "territory",    "tags"};
constexpr const char* kColumns[] = {"name", "owner", "status", "city", "relationship", "segment"};
// A CSV export holds at most this many customers.
constexpr std::size_t kMaxExportRows = 100'000;
constexpr std::size_t kExportBatch = 1'000;

std::string filter_control(const office::Visit& v, const FieldSpec& field) {
  const std::string id = "f-" + field.name;
  const std::string current = v.query.value(field.name);
  std::string out =
      "<div><label for=\"" + id + "\">" + h(field_label(field.name, v.spanish)) + "</label>";
  if (field.kind == FieldKind::choice) {
    out += "<select id=\"" + id + "\" name=\"" + field.name + "\"><option value=\"\">" +
           h(v.t(Text::any)) + "</option>";
    for (const auto& choice : field.choices) {
      out += "<option value=\"" + h(choice) + "\"" + (choice == current ? " selected" : "") + ">" +
             h(choice_label(field.name, choice, v.spanish)) + "</option>";
    }
    out += "</select>";
  } else {
    out += "<input id=\"" + id + "\" name=\"" + field.name + "\" value=\"" + h(current) + "\">";
  }
  return out + "</div>";
}

// The query string of the current filters (for the next page and the export).
web::Params filter_params(const office::Visit& v) {
  web::Params params;
  for (const char* name : kFilters) {
    if (auto value = v.query.get(name); value && !value->empty()) params.add(name, *value);
  }
  return params;
}

std::string csv_cell(std::string_view text) {
  // Quoted when it holds a separator, a quote or a line break; a leading = + - @ is kept as
  // text, so that a spreadsheet never runs a value as a formula.
  std::string cell(text);
  if (!cell.empty() && std::string_view("=+-@").find(cell.front()) != std::string_view::npos)
    cell.insert(cell.begin(), '\'');
  if (cell.find_first_of(";\"\r\n") == std::string::npos) return cell;
  std::string out = "\"";
  for (const char c : cell) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

RowQuery OfficePages::Impl::book_query(const office::Visit& v, std::size_t limit) const {
  const TableSpec& customers = *schema.scope_table();
  RowQuery query;
  query.table = customers.name;
  query.limit = limit;
  query.after_id = v.query.value("after");
  for (const char* name : kFilters) {
    const std::string value = v.query.value(name);
    if (value.empty()) continue;
    const FieldSpec* field = customers.field(name);
    if (!field) continue;
    if (field->kind == FieldKind::tag_set)
      query.tags.emplace_back(name, value);
    else
      query.equals.emplace_back(name, Value(value));
  }
  return query;
}

web::Response OfficePages::Impl::book(const office::Visit& v) {
  const TableSpec& customers = *schema.scope_table();
  RowQuery query = book_query(v, options.page_rows + 1);
  std::vector<ServerRow> rows = store.list_rows(query);
  const bool more = rows.size() > options.page_rows;
  if (more) rows.resize(options.page_rows);

  std::string content = "<h1>" + h(v.t(Text::book_title)) + "</h1>";
  // Folded away on a phone until asked for, so that the book comes first; open while a
  // filter is set.
  const bool filtered = !filter_params(v).items().empty();
  content += std::string("<details class=\"card\"") + (filtered ? " open" : "") + "><summary>" +
             h(v.t(Text::filter)) +
             "</summary><form class=\"filters\" method=\"get\" action=\"/office\">";
  for (const char* name : kFilters) content += filter_control(v, *customers.field(name));
  content += "<div><button type=\"submit\">" + h(v.t(Text::filter)) + "</button></div></form>";
  content += "<p class=\"pager\"><a href=\"/office/book.csv?" + h(filter_params(v).encode()) +
             "\" download>" + h(v.t(Text::export_csv)) + "</a></p></details>";
  if (rows.empty()) {
    content += "<p class=\"card\">" + h(v.t(Text::no_customers)) + "</p>";
  } else {
    content += "<div class=\"table-wrap\"><table class=\"book\"><thead><tr>";
    for (const char* column : kColumns)
      content += "<th scope=\"col\">" + h(field_label(column, v.spanish)) + "</th>";
    content += "</tr></thead><tbody>";
    for (const auto& row : rows) {
      content += "<tr>";
      for (const char* column : kColumns) {
        const auto it = row.fields.find(column);
        const std::string shown =
            it == row.fields.end() ? v.t(Text::empty) : office::shown_value(v, column, it->second);
        if (std::string_view(column) == "name") {
          content += "<td><a href=\"/office/customers/" + h(web::percent_encode(row.id)) + "\">" +
                     h(shown) + "</a></td>";
        } else {
          const bool empty = it == row.fields.end() || it->second.is_null();
          content += std::string("<td") + (empty ? " class=\"empty\"" : "") + " data-label=\"" +
                     h(field_label(column, v.spanish)) + "\">" + h(shown) + "</td>";
        }
      }
      content += "</tr>";
    }
    content += "</tbody></table></div>";
  }
  if (more) {
    web::Params next = filter_params(v);
    next.add("after", rows.back().id);
    content += "<p class=\"pager\"><a rel=\"next\" href=\"/office?" + h(next.encode()) + "\">" +
               h(v.t(Text::next_page)) + "</a></p>";
  }
  return office::page(v, v.t(Text::book), content);
}

web::Response OfficePages::Impl::book_csv(const office::Visit& v) {
  const TableSpec& customers = *schema.scope_table();
  // UTF-8 with its mark and ';' between cells: what a spreadsheet opens as it is.
  std::string csv = "\xEF\xBB\xBF" + csv_cell("id");
  for (const auto& field : customers.fields)
    csv += ";" + csv_cell(field_label(field.name, v.spanish));
  csv += "\r\n";
  RowQuery query = book_query(v, kExportBatch);
  query.after_id.clear();
  for (std::size_t written = 0; written < kMaxExportRows;) {
    const std::vector<ServerRow> rows = store.list_rows(query);
    for (const auto& row : rows) {
      csv += csv_cell(row.id);
      for (const auto& field : customers.fields) {
        const auto it = row.fields.find(field.name);
        csv += ";";
        if (it != row.fields.end() && !it->second.is_null())
          csv += csv_cell(office::shown_value(v, field.name, it->second));
      }
      csv += "\r\n";
    }
    written += rows.size();
    if (rows.size() < kExportBatch) break;
    query.after_id = rows.back().id;
  }
  web::Response response;
  response.body = std::move(csv);
  response.add("Content-Type", "text/csv; charset=utf-8");
  response.add("Content-Disposition", "attachment; filename=\"libreta-book.csv\"");
  return response;
}

}  // namespace libreta::server
