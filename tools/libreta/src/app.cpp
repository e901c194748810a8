#include "app.hpp"

#include <iostream>
#include <regex>

#include <CLI/CLI.hpp>

#include "cli_error.hpp"
#include "commands.hpp"
#include "context.hpp"

namespace libreta::cli {
namespace {

void localize_help(CLI::App& app, Context& ctx) {
  auto formatter = std::make_shared<CLI::Formatter>();
  formatter->label("Usage", ctx.tr(Msg::help_label_usage));
  formatter->label("OPTIONS", ctx.tr(Msg::help_label_options));
  formatter->label("SUBCOMMAND", ctx.tr(Msg::help_label_subcommand));
  formatter->label("SUBCOMMANDS", ctx.tr(Msg::help_label_subcommands));
  formatter->label("Positionals", ctx.tr(Msg::help_label_positionals));
  formatter->label("REQUIRED", ctx.tr(Msg::help_label_required));
  formatter->label("Env", ctx.tr(Msg::help_label_env));
  formatter->label("Needs", ctx.tr(Msg::help_label_needs));
  formatter->label("Excludes", ctx.tr(Msg::help_label_excludes));
  formatter->column_width(34);
  app.formatter(formatter);
}

// Names the help groups of every subcommand in the seller's language.
void set_group_names(CLI::App& app, Context& ctx) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    sub->group(ctx.tr(Msg::help_group_commands));
    for (CLI::Option* option : sub->get_options([](CLI::Option*) { return true; })) {
      if (option->get_group() == "Options") option->group(ctx.tr(Msg::help_group_options));
    }
    set_group_names(*sub, ctx);
  }
}

std::string library_error_message(Context& ctx, const Error& e) {
  switch (exit_code_for(e.code())) {
    case kExitValidation:
      return ctx.tr(Msg::error_validation, {e.what()});
    case kExitStorage:
      return ctx.tr(Msg::error_storage, {e.what()});
    case kExitNetwork:
      return ctx.tr(Msg::error_network, {e.what()});
    default:
      return ctx.tr(Msg::error_internal, {e.what()});
  }
}

// A command-line parse error in the seller's language. The parser words its errors in
// English; the common ones are recognised by their shape and said again, others are shown
// as they are.
std::string parse_error_message(Context& ctx, const CLI::ParseError& e) {
  const std::string text = e.what();
  if (ctx.lang() == Lang::en) return text;
  std::smatch m;
  static const std::regex not_expected("The following arguments? (?:was|were) not expected: (.*)");
  static const std::regex required("(.+) is required");
  static const std::regex subcommand("A subcommand is required");
  static const std::regex convert("Could not convert: (.+) = (.*)");
  static const std::regex missing("(.+): \\d+ required .* missing");
  static const std::regex excludes("(.+) excludes (.+)");
  if (std::regex_match(text, m, not_expected)) return ctx.tr(Msg::parse_not_expected, {m[1].str()});
  if (std::regex_match(text, subcommand)) return ctx.tr(Msg::no_command);
  if (std::regex_match(text, m, required)) return ctx.tr(Msg::parse_required, {m[1].str()});
  if (std::regex_match(text, m, convert)) {
    return ctx.tr(Msg::parse_bad_value, {m[1].str(), m[2].str()});
  }
  if (std::regex_match(text, m, missing)) return ctx.tr(Msg::parse_missing_value, {m[1].str()});
  if (std::regex_match(text, m, excludes)) {
    return ctx.tr(Msg::parse_excludes, {m[1].str(), m[2].str()});
  }
  return text;
}

}  // namespace

int run(int argc, const char* const* argv) {
  return run(argc, argv, std::cout, std::cerr);
}

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  Context ctx(lang_from_environment(), out, err);
  CLI::App app(ctx.tr(Msg::help_app), "libreta");
  localize_help(app, ctx);
  app.option_defaults()->group(ctx.tr(Msg::help_group_options));
  app.set_help_flag("-h,--help", ctx.tr(Msg::help_help));
  app.set_version_flag("--version", std::string("libreta 0.1.0"), ctx.tr(Msg::help_version));
  app.add_option("--home", ctx.home_option, ctx.tr(Msg::help_home))->type_name("DIR");
  app.add_flag("--json", ctx.json, ctx.tr(Msg::help_json));
  app.footer(ctx.tr(Msg::help_footer));
  app.require_subcommand(1);
  app.fallthrough();  // --home and --json are accepted after the command too

  Action action;
  add_sync_commands(app, ctx, action);
  add_customer_commands(app, ctx, action);
  add_contact_commands(app, ctx, action);
  add_activity_commands(app, ctx, action);
  add_reminder_commands(app, ctx, action);
  add_transfer_commands(app, ctx, action);
  add_demo_command(app, ctx, action);
  add_serve_command(app, ctx, action);
  set_group_names(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::CallForVersion& e) {
    out << e.what() << '\n';
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    err << ctx.tr(Msg::usage_error, {parse_error_message(ctx, e)}) << '\n';
    return kExitUsage;
  }
  if (!action) {
    err << ctx.tr(Msg::usage_error, {ctx.tr(Msg::no_command)}) << '\n';
    return kExitUsage;
  }

  try {
    return action();
  } catch (const CliError& e) {
    err << "libreta: " << e.what() << '\n';
    return e.exit_code();
  } catch (const Error& e) {
    err << "libreta: " << library_error_message(ctx, e) << '\n';
    return exit_code_for(e.code());
  } catch (const std::exception& e) {
    err << "libreta: " << ctx.tr(Msg::error_internal, {e.what()}) << '\n';
    return kExitInternal;
  }
}

}  // namespace libreta::cli
