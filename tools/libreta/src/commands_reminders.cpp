// libreta search, libreta reminders, libreta segments.
#include <map>
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>

#include "cli_error.hpp"
#include "commands.hpp"
#include "libreta/protocol/text.hpp"
#include "output.hpp"

namespace libreta::cli {
namespace {

// Segments of `libreta segments`: who to reward and who is slipping away.
constexpr const char* kRewardSegments[] = {"champions", "loyal", "potential_loyalist"};
constexpr const char* kAtRiskSegments[] = {"cant_lose", "at_risk", "about_to_sleep",
                                           "need_attention"};

std::string digits_only_text(const std::string& text) {
  return libreta::digits_only(text);
}

// The search index keeps extra forms of each text (folded names, phone digits and their
// suffixes) so that they can be found; the seller only needs to see the text itself.
std::string readable_snippet(const std::string& snippet) {
  static const std::string kSeparator = " · ";
  std::vector<std::string> kept, folded;
  std::size_t start = 0;
  while (start <= snippet.size()) {
    std::size_t end = snippet.find(kSeparator, start);
    if (end == std::string::npos) end = snippet.size();
    const std::string part = snippet.substr(start, end - start);
    start = end + kSeparator.size();
    // A phone's digit forms ("983777888 83777888 ...") follow the phone ("983 777 888").
    const bool digits_only = std::all_of(part.begin(), part.end(),
                                         [](char c) { return (c >= '0' && c <= '9') || c == ' '; });
    const std::string first_token = part.substr(0, part.find(' '));
    const bool phone_forms =
        digits_only && std::any_of(kept.begin(), kept.end(), [&](const std::string& k) {
          return digits_only_text(k) == first_token;
        });
    std::string key = fold_text(part);
    std::erase_if(key, [](char c) { return c == ' ' || c == '.' || c == ','; });
    if (part.empty() || phone_forms ||
        std::find(folded.begin(), folded.end(), key) != folded.end()) {
      continue;
    }
    kept.push_back(part);
    folded.push_back(std::move(key));
  }
  std::string out;
  for (const auto& part : kept) out += (out.empty() ? "" : kSeparator) + part;
  return out.empty() ? snippet : out;
}

struct SearchArgs {
  std::vector<std::string> words;
  std::size_t limit = 50;
};

int search(Context& ctx, const SearchArgs& args) {
  std::string text;
  for (const auto& w : args.words) text += (text.empty() ? "" : " ") + w;
  const auto hits = ctx.replica().search(text, args.limit);
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& h : hits) {
      out.push_back({{"customer_id", h.customer_id},
                     {"customer_name", h.customer_name},
                     {"table", h.table},
                     {"row_id", h.row_id},
                     {"snippet", h.snippet}});
    }
    print_json(ctx, out);
    return kExitOk;
  }
  TextTable rows;
  for (const auto& h : hits) {
    std::string where = h.table == tables::customers ? "" : table_label(ctx, h.table) + ": ";
    rows.add_row({h.customer_name, where + readable_snippet(h.snippet), h.customer_id});
  }
  rows.print(ctx.out(), "");
  ctx.out() << ctx.tr(Msg::search_results, {std::to_string(hits.size())}) << '\n';
  return kExitOk;
}

struct ReminderArgs {
  int days = 30;
  int quiet_days = 60;
};

int reminders(Context& ctx, const ReminderArgs& args) {
  auto& replica = ctx.replica();
  const std::string today = ctx.today();
  const auto dates = replica.upcoming_dates(today, args.days);
  const auto quiet = replica.quiet_customers(today, args.quiet_days);
  const auto lost = replica.lost_deals_to_revisit(today);
  if (ctx.json) {
    nlohmann::json out;
    out["today"] = today;
    out["dates"] = nlohmann::json::array();
    for (const auto& d : dates) {
      nlohmann::json item{{"customer_id", d.customer_id},
                          {"customer_name", d.customer_name},
                          {"person", d.person},
                          {"what", d.what},
                          {"date", d.date},
                          {"days_until", d.days_until}};
      item["contact_id"] = d.contact_id ? nlohmann::json(*d.contact_id) : nullptr;
      item["years"] = d.years ? nlohmann::json(*d.years) : nullptr;
      out["dates"].push_back(item);
    }
    out["quiet"] = nlohmann::json::array();
    for (const auto& q : quiet) {
      out["quiet"].push_back(
          {{"customer_id", q.customer_id},
           {"customer_name", q.customer_name},
           {"last_contact", q.last_contact ? nlohmann::json(*q.last_contact) : nullptr},
           {"days_quiet", q.days_quiet ? nlohmann::json(*q.days_quiet) : nullptr}});
    }
    out["lost_deals"] = nlohmann::json::array();
    for (const auto& l : lost) {
      auto item = entity_json(l.interaction);
      item["customer_name"] = l.customer_name;
      out["lost_deals"].push_back(item);
    }
    print_json(ctx, out);
    return kExitOk;
  }
  auto& out = ctx.out();
  const auto& fmt = ctx.format();
  out << ctx.tr(Msg::reminders_dates, {std::to_string(args.days)}) << '\n';
  TextTable date_rows;
  for (const auto& d : dates) {
    std::string what(choice_label("date_kind", d.what, ctx.lang()));
    if (d.years) what += " (" + std::to_string(*d.years) + ")";
    std::string who = d.person;
    if (d.contact_id) who += " — " + d.customer_name;
    const std::string when = d.days_until == 0
                                 ? ctx.tr(Msg::word_today)
                                 : ctx.tr(Msg::in_days, {std::to_string(d.days_until)});
    date_rows.add_row({fmt.date(d.date), when, what, who});
  }
  if (date_rows.empty()) out << "  " << ctx.tr(Msg::reminders_none) << '\n';
  date_rows.print(out);

  out << '\n' << ctx.tr(Msg::reminders_quiet, {std::to_string(args.quiet_days)}) << '\n';
  TextTable quiet_rows;
  for (const auto& q : quiet) {
    quiet_rows.add_row({q.customer_name,
                        q.last_contact
                            ? ctx.tr(Msg::last_contact, {fmt.date(*q.last_contact),
                                                         std::to_string(q.days_quiet.value_or(0))})
                            : ctx.tr(Msg::never_contacted),
                        q.customer_id});
  }
  if (quiet_rows.empty()) out << "  " << ctx.tr(Msg::reminders_none) << '\n';
  quiet_rows.print(out);

  out << '\n' << ctx.tr(Msg::reminders_lost) << '\n';
  TextTable lost_rows;
  for (const auto& l : lost) {
    lost_rows.add_row({fmt.date(l.interaction.revisit_on.value_or("")), l.customer_name,
                       l.interaction.lost_reason.value_or(""), fmt.date(l.interaction.date)});
  }
  if (lost_rows.empty()) out << "  " << ctx.tr(Msg::reminders_none) << '\n';
  lost_rows.print(out);
  return kExitOk;
}

int segments(Context& ctx) {
  const std::string today = ctx.today();
  const auto report = ctx.replica().rfm(today);
  if (ctx.json) {
    nlohmann::json out;
    out["as_of"] = today;
    out["method"] = report.quintiles ? "quintiles" : "fixed_thresholds";
    out["customers"] = nlohmann::json::array();
    std::map<std::string, std::size_t> counts;
    for (const auto& c : report.customers) {
      ++counts[c.segment];
      out["customers"].push_back({{"customer_id", c.customer_id},
                                  {"customer_name", c.customer_name},
                                  {"segment", c.segment},
                                  {"r", c.r},
                                  {"f", c.f},
                                  {"m", c.m},
                                  {"recency_days", c.recency_days},
                                  {"frequency", c.frequency},
                                  {"monetary", c.monetary}});
    }
    out["counts"] = counts;
    print_json(ctx, out);
    return kExitOk;
  }
  auto& out = ctx.out();
  const auto& fmt = ctx.format();
  if (report.customers.empty()) {
    out << ctx.tr(Msg::segments_none) << '\n';
    return kExitOk;
  }
  // Segments in the report's order (best relationship first), with how many are in each.
  std::vector<std::pair<std::string, std::size_t>> counts;
  for (const auto& c : report.customers) {
    if (counts.empty() || counts.back().first != c.segment) counts.emplace_back(c.segment, 0);
    ++counts.back().second;
  }
  const auto group = [&](Msg heading, const auto& segments_in_group) {
    out << ctx.tr(heading) << '\n';
    TextTable rows;
    for (const auto& c : report.customers) {
      if (std::find(std::begin(segments_in_group), std::end(segments_in_group), c.segment) ==
          std::end(segments_in_group)) {
        continue;
      }
      rows.add_row(
          {c.customer_name, std::string(choice_label("rfm_segment", c.segment, ctx.lang())),
           ctx.tr(Msg::days_ago, {std::to_string(c.recency_days)}),
           ctx.tr(Msg::orders_count, {std::to_string(c.frequency)}), fmt.amount(c.monetary)});
    }
    if (rows.empty()) out << "  " << ctx.tr(Msg::reminders_none) << '\n';
    rows.print(out);
    out << '\n';
  };
  group(Msg::segments_reward, kRewardSegments);
  group(Msg::segments_at_risk, kAtRiskSegments);
  out << ctx.tr(Msg::segments_all,
                {report.quintiles ? ctx.tr(Msg::segments_quintiles) : ctx.tr(Msg::segments_fixed)})
      << '\n';
  TextTable rows;
  for (const auto& [segment, count] : counts) {
    rows.add_row(
        {std::string(choice_label("rfm_segment", segment, ctx.lang())), std::to_string(count)});
  }
  rows.print(out);
  return kExitOk;
}

}  // namespace

void add_reminder_commands(CLI::App& app, Context& ctx, Action& action) {
  auto search_args = std::make_shared<SearchArgs>();
  auto* search_cmd = app.add_subcommand("search", ctx.tr(Msg::help_search));
  search_cmd->alias("buscar");
  search_cmd->add_option("text", search_args->words, ctx.tr(Msg::help_search_text))->required();
  search_cmd->add_option("--limit", search_args->limit, ctx.tr(Msg::help_limit))
      ->check(CLI::PositiveNumber);
  choose(*search_cmd, action, ctx, search_args, search);

  auto reminder_args = std::make_shared<ReminderArgs>();
  auto* reminders_cmd = app.add_subcommand("reminders", ctx.tr(Msg::help_reminders));
  reminders_cmd->alias("avisos");
  reminders_cmd->add_option("--days", reminder_args->days, ctx.tr(Msg::help_reminders_days))
      ->check(CLI::Range(0, 366));
  reminders_cmd
      ->add_option("--quiet-days", reminder_args->quiet_days, ctx.tr(Msg::help_reminders_quiet))
      ->check(CLI::Range(1, 3650));
  choose(*reminders_cmd, action, ctx, reminder_args, reminders);

  auto* segments_cmd = app.add_subcommand("segments", ctx.tr(Msg::help_segments));
  segments_cmd->alias("segmentos");
  choose(*segments_cmd, action, [&ctx] { return segments(ctx); });
}

}  // namespace libreta::cli
