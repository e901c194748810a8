// The office's page shell and stylesheet, and how values and times are shown.
#include <ctime>

#include "libreta/protocol/labels.hpp"
#include "office_impl.hpp"

namespace libreta::server::office {

namespace {

constexpr std::string_view kStylesheet = R"css(
:root { --ink: #1d2430; --muted: #5b6472; --line: #d9dde3; --accent: #1f5fae; --bad: #a4262c;
        --good: #1e6b3a; --paper: #ffffff; --wash: #f4f6f8; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: var(--wash); }
a { color: var(--accent); }
header.bar { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.25rem;
             padding: .6rem 1rem; background: var(--ink); color: #fff; }
header.bar nav { display: flex; flex-wrap: wrap; gap: 0 1.25rem; }
header.bar a { color: #fff; text-decoration: none; padding: .5rem 0; }
header.bar a[aria-current] { border-bottom: 2px solid #fff; }
header.bar .who { margin-left: auto; font-size: .9rem; opacity: .85; }
header.bar form { margin: 0; }
header.bar button { background: transparent; color: #fff; border: 1px solid #fff8; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.4rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.card { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 1rem;
        margin-bottom: 1rem; }
.notice { padding: .75rem 1rem; border-radius: 6px; background: #e8f2ea; color: var(--good); }
.notice.error { background: #f8e6e7; color: var(--bad); }
form.filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr));
               gap: .5rem .75rem; align-items: end; }
label { display: block; font-size: .85rem; color: var(--muted); margin-bottom: .2rem; }
input, select, button, textarea { font: inherit; min-height: 44px; width: 100%; padding: .4rem .6rem;
                                  border: 1px solid var(--line); border-radius: 6px; background: #fff; }
button { width: auto; padding: .4rem 1rem; cursor: pointer; background: var(--accent); color: #fff;
         border-color: var(--accent); }
button.secondary { background: #fff; color: var(--accent); }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; background: var(--paper); }
th, td { text-align: left; padding: .55rem .6rem; border-bottom: 1px solid var(--line);
         vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; }
.card > h2:first-child { margin-top: 0; }
details.card > summary { cursor: pointer; min-height: 44px; display: flex; align-items: center;
                         font-weight: 600; color: var(--accent); }
details.card[open] > summary { margin-bottom: .75rem; }
.pager { display: flex; gap: 1rem; margin: 1rem 0; flex-wrap: wrap; }
dl.fields { display: grid; grid-template-columns: minmax(8rem, 14rem) 1fr; gap: .35rem 1rem; margin: 0; }
dl.fields dt { color: var(--muted); }
dl.fields dd { margin: 0; overflow-wrap: anywhere; }
.edit-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: .75rem; }
.group { margin-bottom: 1.5rem; }
.conflict { border-top: 1px solid var(--line); padding: .75rem 0; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: .75rem; }
.side { padding: .5rem .75rem; border-radius: 6px; background: var(--wash); overflow-wrap: anywhere; }
.side.kept { border-left: 4px solid var(--good); }
.side.lost { border-left: 4px solid var(--bad); }
.side small { display: block; color: var(--muted); }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .5rem; }
.actions form { margin: 0; }
main.signin { max-width: 24rem; margin-top: 10vh; }
main.signin form { display: grid; gap: .75rem; }
@media (max-width: 40rem) {
  /* The book as a list: the name on its line, the rest after it. */
  table.book thead { display: none; }
  table.book tr { display: block; padding: .6rem .75rem; border-bottom: 1px solid var(--line); }
  table.book td { display: inline; padding: 0; border: 0; }
  table.book td:first-child { display: block; font-weight: 600; }
  table.book td:first-child a { display: inline-block; min-height: 44px; padding-top: .6rem; }
  table.book td.empty { display: none; }
  table.book td:nth-child(2)::before { content: attr(data-label) ": "; color: var(--muted); }
  table.book td + td:not(:nth-child(2))::before { content: " · "; color: var(--muted); }
  table.devices td { display: block; }
  table.book.devices td + td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); }
  .sides { grid-template-columns: 1fr; }
  dl.fields { grid-template-columns: 1fr; }
  dl.fields dd { margin-bottom: .5rem; }
}
)css";

}  // namespace

std::string_view stylesheet() {
  return kStylesheet;
}

std::string csrf_field(const Visit& v) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + h(v.csrf) + "\">";
}

web::Response page(const Visit& v, std::string_view title, const std::string& content, int status) {
  std::string links;
  for (const auto& [path, label] :
       {std::pair{"/office", Text::book}, std::pair{"/office/conflicts", Text::conflicts},
        std::pair{"/office/devices", Text::devices},
        std::pair{"/office/reassign", Text::reassign}}) {
    const bool current =
        std::string_view(path) == "/office"
            ? v.request.path == "/office" || v.request.path.starts_with("/office/customers")
            : v.request.path.starts_with(path);
    links += std::string("<a href=\"") + path + "\"" + (current ? " aria-current=\"page\"" : "") +
             ">" + h(v.t(label)) + "</a>";
  }
  std::string body = "<!doctype html><html lang=\"" + std::string(v.spanish ? "es" : "en") +
                     "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
                     "content=\"width=device-width, initial-scale=1\"><title>" +
                     h(title) +
                     " · libreta</title><link rel=\"stylesheet\" "
                     "href=\"/office/assets/office.css\"></head><body><header class=\"bar\"><nav>" +
                     links + "</nav><span class=\"who\">" + h(v.officer.user) +
                     "</span><form method=\"post\" action=\"/office/signout\">" + csrf_field(v) +
                     "<button type=\"submit\">" + h(v.t(Text::sign_out)) +
                     "</button></form></header><main>" + content + "</main></body></html>";
  return web::Response::html(std::move(body), status);
}

web::Response message_page(const Visit& v, int status, const std::string& message) {
  return page(v, message, "<p class=\"notice error\" role=\"alert\">" + h(message) + "</p>",
              status);
}

std::string shown_value(const Visit& v, std::string_view field, const Value& value) {
  if (value.is_null()) return v.t(Text::empty);
  if (value.is_tags()) {
    std::string out;
    for (const auto& tag : value.as_tags()) out += (out.empty() ? "" : ", ") + tag;
    return out.empty() ? v.t(Text::empty) : out;
  }
  if (value.is_text()) return std::string(choice_label(field, value.as_text(), v.spanish));
  if (value.is_bool())
    return std::string(choice_label("boolean", value.as_bool() ? "true" : "false", v.spanish));
  if (value.is_integer()) return std::to_string(value.as_integer());
  char number[32];
  std::snprintf(number, sizeof number, "%.2f", value.as_number());
  return number;
}

std::string shown_time(std::uint64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &utc);
  return text;
}

}  // namespace libreta::server::office
