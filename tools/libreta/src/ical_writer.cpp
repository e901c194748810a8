#include "ical_writer.hpp"

#include "content_line.hpp"
#include "libreta/protocol/schema.hpp"

namespace libreta::cli {
namespace {

struct Event {
  std::string uid, date, summary, description;
  bool yearly = false;
};

std::string next_day(std::string_view iso) {
  return civil_from_days(*parse_day_number(iso) + 1);
}

std::string vevent(const Event& event, std::string_view dtstamp) {
  std::string out = content_line("BEGIN:VEVENT");
  out += content_line("UID:" + escape_text(event.uid));
  out += content_line("DTSTAMP:" + std::string(dtstamp));
  out += content_line("DTSTART;VALUE=DATE:" + ical_date(event.date));
  out += content_line("DTEND;VALUE=DATE:" + ical_date(next_day(event.date)));
  if (event.yearly) {
    // 29 February falls on the last day of February in other years.
    out +=
        content_line(event.date.substr(5) == "02-29" ? "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1"
                                                     : "RRULE:FREQ=YEARLY");
  }
  out += content_line("SUMMARY:" + escape_text(event.summary));
  if (!event.description.empty()) {
    out += content_line("DESCRIPTION:" + escape_text(event.description));
  }
  out += content_line("TRANSP:TRANSPARENT");  // a reminder, not busy time
  out += content_line("END:VEVENT");
  return out;
}

}  // namespace

std::string ical_date(std::string_view iso) {
  std::string out;
  for (char c : iso.substr(0, 10)) {
    if (c != '-') out += c;
  }
  return out;
}

std::string export_icalendar(const client::Replica& replica, Lang lang, std::string_view dtstamp,
                             IcalStats* stats) {
  IcalStats counts;
  std::string out = content_line("BEGIN:VCALENDAR");
  out += content_line("VERSION:2.0");
  out += content_line("PRODID:-//libreta//libreta 0.1//" +
                      std::string(lang == Lang::es ? "ES" : "EN"));
  out += content_line("CALSCALE:GREGORIAN");
  out += content_line("METHOD:PUBLISH");
  out += content_line("X-WR-CALNAME:" + escape_text(tr(lang, Msg::ical_calendar_name)));

  const auto add_dates = [&](const std::string& uid_base, const std::string& person,
                             const std::string& company, const OptText& birthday,
                             const OptText& anniversary) {
    const std::string who =
        company.empty() || company == person ? person : person + " (" + company + ")";
    if (birthday && is_valid_date(*birthday)) {
      out += vevent({"birthday-" + uid_base + "@libreta",
                     *birthday,
                     tr(lang, Msg::ical_birthday, {who}),
                     {},
                     true},
                    dtstamp);
      ++counts.dates;
    }
    if (anniversary && is_valid_date(*anniversary)) {
      out += vevent({"anniversary-" + uid_base + "@libreta",
                     *anniversary,
                     tr(lang, Msg::ical_anniversary, {who, anniversary->substr(0, 4)}),
                     {},
                     true},
                    dtstamp);
      ++counts.dates;
    }
  };

  client::CustomerFilter everyone;
  everyone.limit = SIZE_MAX;
  for (const auto& customer : replica.list_customers(everyone)) {
    for (const auto& followup : replica.followups_of(customer.id)) {
      if (followup.done || !is_valid_date(followup.due)) continue;
      out += vevent({"followup-" + followup.id + "@libreta", followup.due,
                     tr(lang, Msg::ical_followup, {followup.title, customer.name}),
                     followup.notes.value_or(""), false},
                    dtstamp);
      ++counts.followups;
    }
    for (const auto& interaction : replica.interactions_of(customer.id)) {
      if (interaction.outcome != "lost" || !interaction.revisit_on ||
          !is_valid_date(*interaction.revisit_on)) {
        continue;
      }
      std::string description = interaction.lost_reason.value_or("");
      if (interaction.notes) description += (description.empty() ? "" : "\n") + *interaction.notes;
      out += vevent({"revisit-" + interaction.id + "@libreta", *interaction.revisit_on,
                     tr(lang, Msg::ical_revisit, {customer.name}), description, false},
                    dtstamp);
      ++counts.revisits;
    }
    add_dates(customer.id, customer.name, {}, customer.birthday, customer.anniversary);
    for (const auto& contact : replica.contacts_of(customer.id)) {
      add_dates(contact.id, contact.name, customer.name, contact.birthday, contact.anniversary);
    }
  }
  out += content_line("END:VCALENDAR");
  if (stats) *stats = counts;
  return out;
}

}  // namespace libreta::cli
