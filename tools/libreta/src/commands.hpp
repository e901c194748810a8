// The commands of `libreta`, one group per file (commands_*.cpp), each registering its
// subcommands on the CLI11 app. A subcommand's callback only chooses the action; run()
// (app.cpp) calls it after parsing succeeded, so a usage error never half-runs anything.
// Actions run on the main thread, return the exit status and may throw CliError or
// libreta::Error.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "context.hpp"
#include "libreta/client/sync_types.hpp"
#include "libreta/protocol/customer_book.hpp"

namespace CLI {
class App;
}

namespace libreta::cli {

using Action = std::function<int()>;

void add_customer_commands(CLI::App& app, Context& ctx, Action& action);
void add_contact_commands(CLI::App& app, Context& ctx, Action& action);
void add_activity_commands(CLI::App& app, Context& ctx,
                           Action& action);  // log, purchase, followups
void add_reminder_commands(CLI::App& app, Context& ctx,
                           Action& action);  // search, reminders, segments
void add_transfer_commands(CLI::App& app, Context& ctx, Action& action);  // import, export
void add_sync_commands(CLI::App& app, Context& ctx, Action& action);      // init, sync, status
void add_demo_command(CLI::App& app, Context& ctx, Action& action);
void add_serve_command(CLI::App& app, Context& ctx, Action& action);  // the seller's app

// ---- Shared by the command files (command_support.cpp) ----------------------------------

// The sync options saved by `libreta init` (server, token, CA file), or nullopt when the
// book has no server.
std::optional<client::SyncOptions> saved_sync_options(Context& ctx);

// Makes `command`, once chosen by the parser, the action to run.
void choose(CLI::App& command, Action& action, Action run);
// The same for a command whose arguments were parsed into `args`: runs `run(ctx, *args)`.
template <typename Args, typename Run>
void choose(CLI::App& command, Action& action, Context& ctx, std::shared_ptr<Args> args, Run run) {
  choose(command, action, [&ctx, args = std::move(args), run] { return run(ctx, *args); });
}

// Field values given on the command line, in order: --set field=value and the short flags.
struct FieldArgs {
  std::vector<std::pair<std::string, std::string>> values;  // field, text
  std::vector<std::string> sets;                            // raw --set arguments
  std::vector<std::string> add_tags, remove_tags;
};

struct ShortFlag {
  const char* flag;   // "--name"
  const char* field;  // "name"
  Msg help;
};

// Adds --set (repeatable) and the given short flags to `command`.
void add_field_options(CLI::App& command, Context& ctx, FieldArgs& args,
                       const std::vector<ShortFlag>& flags);

// The record the arguments describe for `table`, every value converted and validated; a
// CliError (validation, or usage for a malformed --set) on the first bad one. Tags given with
// --tag/--untag are applied to `current_tags`.
Record build_record(Context& ctx, const TableSpec& table, const FieldArgs& args,
                    const TagSet& current_tags = {});

// A choice given by the seller for a filter ("activo"), as the schema's value.
std::string choice_argument(Context& ctx, const TableSpec& table, std::string_view field,
                            std::string_view text);
// A date given by the seller (dd/mm/yyyy, yyyy-mm-dd, "hoy"/"today", "mañana"/"tomorrow",
// "+N" days from today), as YYYY-MM-DD; a CliError (validation) otherwise.
std::string date_argument(Context& ctx, std::string_view text, std::string_view what);

std::string table_label(Context& ctx, std::string_view table);

// Adds the days to a YYYY-MM-DD date.
std::string add_days(std::string_view date, std::int64_t days);
std::int64_t days_between(std::string_view from, std::string_view to);

}  // namespace libreta::cli
