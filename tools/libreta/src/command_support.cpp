// Helpers shared by the command files: field options, records from arguments, dates.
#include <algorithm>

#include <CLI/CLI.hpp>

#include "cli_error.hpp"
#include "commands.hpp"
#include "field_input.hpp"
#include "libreta/protocol/schema.hpp"
#include "libreta/protocol/text.hpp"

namespace libreta::cli {

void choose(CLI::App& command, Action& action, Action run) {
  command.callback([&action, run = std::move(run)] { action = run; });
}

void add_field_options(CLI::App& command, Context& ctx, FieldArgs& args,
                       const std::vector<ShortFlag>& flags) {
  command.add_option("--set", args.sets, ctx.tr(Msg::help_set))
      ->type_name("FIELD=VALUE")
      ->allow_extra_args(false);  // one value per --set: a positional may follow
  for (const auto& flag : flags) {
    const std::string field = flag.field;
    if (field == "tags") {
      // Repeatable: the function receives every occurrence at once.
      command
          .add_option_function<std::vector<std::string>>(
              flag.flag,
              [&args](const std::vector<std::string>& values) {
                for (const auto& value : values) {
                  for (auto& tag : parse_tags(value)) args.add_tags.push_back(tag);
                }
              },
              ctx.tr(flag.help))
          ->type_name("TAG")
          ->allow_extra_args(false);
      command
          .add_option_function<std::vector<std::string>>(
              "--untag",
              [&args](const std::vector<std::string>& values) {
                for (const auto& value : values) {
                  for (auto& tag : parse_tags(value)) args.remove_tags.push_back(tag);
                }
              },
              ctx.tr(Msg::help_untag))
          ->type_name("TAG")
          ->allow_extra_args(false);
      continue;
    }
    command
        .add_option_function<std::string>(
            flag.flag,
            [&args, field](const std::string& value) { args.values.emplace_back(field, value); },
            ctx.tr(flag.help))
        ->type_name("TEXT");
  }
}

Record build_record(Context& ctx, const TableSpec& table, const FieldArgs& args,
                    const TagSet& current_tags) {
  std::vector<std::pair<std::string, std::string>> values;
  for (const auto& set : args.sets) {
    const auto equals = set.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw CliError(kExitUsage, ctx.tr(Msg::set_syntax, {set}));
    }
    values.emplace_back(set.substr(0, equals), set.substr(equals + 1));
  }
  values.insert(values.end(), args.values.begin(), args.values.end());

  Record record;
  for (const auto& [field, text] : values) {
    FieldInput input = parse_field_input(table, field, text);
    if (!input.ok()) throw CliError(kExitValidation, describe(*input.error, ctx.lang()));
    const FieldSpec* spec = table.field(field);
    if (spec->required && input.value.is_null()) {
      throw CliError(
          kExitValidation,
          describe(InputError{InputProblem::required, table.name, field, text, {}}, ctx.lang()));
    }
    record[field] = std::move(input.value);
  }
  if (!args.add_tags.empty() || !args.remove_tags.empty()) {
    const FieldSpec* spec = table.field("tags");
    TagSet tags =
        record.count("tags") && record["tags"].is_tags() ? record["tags"].as_tags() : current_tags;
    tags.insert(tags.end(), args.add_tags.begin(), args.add_tags.end());
    std::erase_if(tags, [&](const std::string& t) {
      return std::find(args.remove_tags.begin(), args.remove_tags.end(), t) !=
             args.remove_tags.end();
    });
    auto validated = spec->validate(Value(tags));
    if (!validated.ok()) {
      throw CliError(kExitValidation, describe(InputError{InputProblem::bad_text, table.name,
                                                          "tags", "", validated.error().what()},
                                               ctx.lang()));
    }
    record["tags"] = std::move(validated).value();
  }
  return record;
}

std::string choice_argument(Context& ctx, const TableSpec& table, std::string_view field,
                            std::string_view text) {
  FieldInput input = parse_field_input(table, field, text);
  if (!input.ok()) throw CliError(kExitValidation, describe(*input.error, ctx.lang()));
  return input.value.is_text() ? input.value.as_text() : std::string(text);
}

std::string add_days(std::string_view date, std::int64_t days) {
  return civil_from_days(*parse_day_number(date) + days);
}

std::int64_t days_between(std::string_view from, std::string_view to) {
  return *parse_day_number(to) - *parse_day_number(from);
}

std::string date_argument(Context& ctx, std::string_view text, std::string_view what) {
  const std::string folded = fold_text(trim(text));
  if (folded == "hoy" || folded == "today") return ctx.today();
  if (folded == "manana" || folded == "tomorrow") return add_days(ctx.today(), 1);
  if (folded.size() > 1 && folded.front() == '+' &&
      std::all_of(folded.begin() + 1, folded.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      folded.size() < 7) {
    return add_days(ctx.today(), std::stoll(folded.substr(1)));
  }
  if (auto date = parse_date(text)) return *date;
  throw CliError(kExitValidation, ctx.tr(Msg::bad_date_argument, {what, text}));
}

std::string table_label(Context& ctx, std::string_view table) {
  if (table == tables::contacts) return ctx.tr(Msg::word_contact);
  if (table == tables::interactions) return ctx.tr(Msg::word_interaction);
  return ctx.tr(Msg::word_customer);
}

}  // namespace libreta::cli
