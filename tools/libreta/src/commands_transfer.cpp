// libreta import FILE.csv, libreta export csv|vcard|ics.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <ostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "book_csv.hpp"
#include "cli_error.hpp"
#include "commands.hpp"
#include "field_input.hpp"
#include "ical_writer.hpp"
#include "importer.hpp"
#include "output.hpp"
#include "progress_bar.hpp"
#include "vcard_writer.hpp"

namespace libreta::cli {
namespace {

// Bigger files are refused: a customer book is thousands of rows, not gigabytes.
constexpr std::uintmax_t kMaxImportBytes = 200u * 1024 * 1024;

struct ImportArgs {
  std::string file;
  bool dry_run = false;
  std::vector<std::string> maps;
  std::string status;
  std::string owner;
};

std::string read_file(Context& ctx, const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw CliError(kExitUsage, ctx.tr(Msg::cannot_read_file, {path, ec.message()}));
  if (size > kMaxImportBytes) {
    throw CliError(kExitValidation,
                   ctx.tr(Msg::import_too_large, {path, std::to_string(kMaxImportBytes >> 20)}));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CliError(kExitUsage, ctx.tr(Msg::cannot_read_file, {path, std::strerror(errno)}));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

std::string separator_name(char separator) {
  return separator == '\t' ? "TAB" : std::string(1, separator);
}

std::string preview_text(Context& ctx, const PreviewRow& row) {
  if (!row.reasons.empty()) return ctx.tr(Msg::import_rejected_word) + ": " + row.reasons.front();
  const TableSpec& table = *customer_book_schema().table(tables::customers);
  std::string text;
  for (const auto& [field, value] : row.fields) {
    std::string shown = display_value(*table.field(field), value, ctx.format());
    for (auto& c : shown) {
      if (c == '\n') c = ' ';
    }
    text += (text.empty() ? "" : " · ") + std::string(field_label(field, ctx.lang())) + "=" + shown;
  }
  return text;
}

const char* result_name(RowResult result) {
  switch (result) {
    case RowResult::created:
      return "created";
    case RowResult::updated:
      return "updated";
    case RowResult::unchanged:
      return "unchanged";
    case RowResult::rejected:
      return "rejected";
  }
  return "?";
}

// The import's report as JSON: the columns' mapping, the counts, the preview and each line's
// result.
void print_import_json(Context& ctx, const ImportArgs& args, const ImportReport& report) {
  const std::size_t created = report.count(RowResult::created);
  const std::size_t updated = report.count(RowResult::updated);
  const std::size_t unchanged = report.count(RowResult::unchanged);
  const std::size_t rejected = report.count(RowResult::rejected);
  nlohmann::json out;
  out["file"] = args.file;
  out["dry_run"] = args.dry_run;
  out["encoding"] = encoding_name(report.encoding);
  out["separator"] = separator_name(report.separator);
  out["columns"] = nlohmann::json::array();
  for (const auto& column : report.mapping.columns) {
    if (column.field.empty() || column.repeated) continue;
    out["columns"].push_back({{"column", column.header}, {"field", column.field}});
  }
  out["unknown_columns"] = report.mapping.unknown;
  out["repeated_columns"] = report.mapping.repeated;
  out["rows"] = report.rows.size();
  out["created"] = created;
  out["updated"] = updated;
  out["unchanged"] = unchanged;
  out["duplicates"] = updated + unchanged;
  out["rejected"] = rejected;
  out["preview"] = nlohmann::json::array();
  for (const auto& p : report.preview) {
    nlohmann::json fields = nlohmann::json::object();
    for (const auto& [name, value] : p.fields) fields[name] = value_json(value);
    out["preview"].push_back({{"line", p.line}, {"fields", fields}, {"reasons", p.reasons}});
  }
  out["results"] = nlohmann::json::array();
  for (const auto& row : report.rows) {
    nlohmann::json item{{"line", row.line}, {"result", result_name(row.result)}};
    if (!row.customer_id.empty()) item["id"] = row.customer_id;
    if (!row.name.empty()) item["name"] = row.name;
    if (!row.matched_by.empty()) item["matched_by"] = row.matched_by;
    if (!row.fields.empty()) item["fields"] = row.fields;
    if (!row.kept.empty()) item["kept"] = row.kept;
    if (!row.reasons.empty()) item["reasons"] = row.reasons;
    out["results"].push_back(item);
  }
  print_json(ctx, out);
}

// The import's report for a person: the columns' mapping, the preview, the counts, what
// changed and what was kept in customers already in the book, and the rejected lines.
void print_import_text(Context& ctx, const ImportArgs& args, const ImportReport& report) {
  const std::size_t created = report.count(RowResult::created);
  const std::size_t updated = report.count(RowResult::updated);
  const std::size_t unchanged = report.count(RowResult::unchanged);
  const std::size_t rejected = report.count(RowResult::rejected);
  auto& out = ctx.out();
  out << ctx.tr(Msg::import_file_summary,
                {args.file, encoding_name(report.encoding), separator_name(report.separator),
                 std::to_string(report.rows.size())})
      << '\n';
  out << ctx.tr(Msg::import_columns) << '\n';
  TextTable columns;
  for (const auto& column : report.mapping.columns) {
    if (column.field.empty() || column.repeated) continue;
    std::string target = column.field == kSurnameColumn ? ctx.tr(Msg::import_surname_column)
                         : column.field == kIdColumn
                             ? std::string("id")
                             : std::string(field_label(column.field, ctx.lang()));
    columns.add_row({"«" + column.header + "»", "→ " + target});
  }
  columns.print(out);
  if (!report.mapping.unknown.empty()) {
    std::string names;
    for (const auto& name : report.mapping.unknown)
      names += (names.empty() ? "«" : ", «") + name + "»";
    out << ctx.tr(Msg::import_unknown_columns, {names}) << '\n';
  }
  if (!report.mapping.repeated.empty()) {
    std::string names;
    for (const auto& name : report.mapping.repeated)
      names += (names.empty() ? "«" : ", «") + name + "»";
    out << ctx.tr(Msg::import_repeated_columns, {names}) << '\n';
  }
  if (!report.preview.empty()) {
    out << ctx.tr(Msg::import_preview) << '\n';
    for (const auto& p : report.preview) {
      out << "  " << ctx.tr(Msg::word_line) << ' ' << p.line << ": " << preview_text(ctx, p)
          << '\n';
    }
  }
  out << ctx.tr(args.dry_run ? Msg::import_result_dry_run : Msg::import_result,
                {std::to_string(created), std::to_string(updated), std::to_string(unchanged),
                 std::to_string(rejected)})
      << '\n';
  // What the import changed in customers already in the book, and what of the seller's own
  // it left as it was.
  const auto labels = [&](const std::vector<std::string>& fields) {
    std::string text;
    for (const auto& field : fields) {
      text += (text.empty() ? "" : ", ") + std::string(field_label(field, ctx.lang()));
    }
    return text;
  };
  if (updated > 0 || std::any_of(report.rows.begin(), report.rows.end(),
                                 [](const ImportedRow& row) { return !row.kept.empty(); })) {
    out << ctx.tr(args.dry_run ? Msg::import_changes_dry_run : Msg::import_changes) << '\n';
    for (const auto& row : report.rows) {
      if (row.fields.empty() && row.kept.empty()) continue;
      out << "  " << ctx.tr(Msg::word_line) << ' ' << row.line << ", " << row.name << ":";
      if (!row.fields.empty())
        out << ' ' << ctx.tr(Msg::import_changed_fields, {labels(row.fields)});
      if (!row.fields.empty() && !row.kept.empty()) out << ';';
      if (!row.kept.empty()) out << ' ' << ctx.tr(Msg::import_kept_fields, {labels(row.kept)});
      out << '\n';
    }
  }
  if (rejected > 0) {
    out << ctx.tr(Msg::import_rejected_rows) << '\n';
    for (const auto& row : report.rows) {
      if (row.result != RowResult::rejected) continue;
      std::string reasons;
      for (const auto& r : row.reasons) reasons += (reasons.empty() ? "" : "; ") + r;
      out << "  " << ctx.tr(Msg::word_line) << ' ' << row.line << ": " << reasons << '\n';
    }
  }
}

int import_file(Context& ctx, const ImportArgs& args) {
  auto& replica = ctx.replica();
  const std::string bytes = read_file(ctx, args.file);
  const CsvDocument doc = read_csv(bytes);

  ImportOptions options;
  options.dry_run = args.dry_run;
  options.maps = args.maps;
  if (!args.status.empty()) {
    options.default_status = choice_argument(ctx, *customer_book_schema().table(tables::customers),
                                             "status", args.status);
  }
  options.created_at = ctx.now_utc();
  options.owner =
      args.owner.empty() ? replica.setting(kOwnerSetting) : std::optional<std::string>(args.owner);

  ProgressBar bar(ctx.out(), ctx.stdout_is_terminal() && !ctx.json, ctx.tr(Msg::import_progress),
                  doc.records.empty() ? 0 : doc.records.size() - 1);
  Importer importer(replica, ctx.lang());
  ImportProblem problem = ImportProblem::none;
  std::string detail;
  const ImportReport report = importer.run(
      doc, options, problem, detail, [&bar](std::size_t done, std::size_t) { bar.update(done); });
  bar.finish();
  if (problem != ImportProblem::none) throw CliError(kExitValidation, detail);

  if (ctx.json)
    print_import_json(ctx, args, report);
  else
    print_import_text(ctx, args, report);
  return report.count(RowResult::rejected) > 0 ? kExitValidation : kExitOk;
}

struct ExportArgs {
  std::string format;
  std::string out;
};

void write_output(Context& ctx, const std::string& path, const std::string& data) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (file) file.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (file) file.close();
  if (!file)
    throw CliError(kExitStorage, ctx.tr(Msg::cannot_write_file, {path, std::strerror(errno)}));
}

int export_book(Context& ctx, const ExportArgs& args) {
  auto& replica = ctx.replica();
  std::string data;
  std::size_t count = 0;
  nlohmann::json stats;
  if (args.format == "csv") {
    data = export_customers_csv(replica, ctx.format(), &count);
    stats["customers"] = count;
  } else if (args.format == "vcard" || args.format == "vcf") {
    VcardStats vcard;
    data = export_vcards(replica, ctx.lang(), &vcard);
    count = vcard.cards;
    stats["cards"] = count;
  } else {
    IcalStats ical;
    std::string stamp = ctx.now_utc();  // YYYY-MM-DDTHH:MM:SSZ -> YYYYMMDDTHHMMSSZ
    std::erase(stamp, '-');
    std::erase(stamp, ':');
    data = export_icalendar(replica, ctx.lang(), stamp, &ical);
    count = ical.followups + ical.dates + ical.revisits;
    stats["followups"] = ical.followups;
    stats["dates"] = ical.dates;
    stats["revisits"] = ical.revisits;
  }
  if (args.out.empty() || args.out == "-") {
    ctx.out() << data << std::flush;
    return kExitOk;
  }
  write_output(ctx, args.out, data);
  if (ctx.json) {
    stats["format"] = args.format;
    stats["file"] = args.out;
    stats["bytes"] = data.size();
    print_json(ctx, stats);
  } else {
    ctx.out() << ctx.tr(Msg::exported, {std::to_string(count), args.out}) << '\n';
  }
  return kExitOk;
}

}  // namespace

void add_transfer_commands(CLI::App& app, Context& ctx, Action& action) {
  auto import_args = std::make_shared<ImportArgs>();
  auto* import_cmd = app.add_subcommand("import", ctx.tr(Msg::help_import));
  import_cmd->alias("importar");
  import_cmd->add_option("file", import_args->file, ctx.tr(Msg::help_import_file))->required();
  import_cmd->add_flag("--dry-run", import_args->dry_run, ctx.tr(Msg::help_import_dry_run));
  import_cmd->add_option("--map", import_args->maps, ctx.tr(Msg::help_import_map))
      ->type_name("COLUMN=FIELD")
      ->allow_extra_args(false);
  import_cmd->add_option("--status", import_args->status, ctx.tr(Msg::help_import_status));
  import_cmd->add_option("--owner", import_args->owner, ctx.tr(Msg::help_import_owner));
  choose(*import_cmd, action, ctx, import_args, import_file);

  auto export_args = std::make_shared<ExportArgs>();
  auto* export_cmd = app.add_subcommand("export", ctx.tr(Msg::help_export));
  export_cmd->alias("exportar");
  export_cmd->add_option("format", export_args->format, ctx.tr(Msg::help_export_format))
      ->required()
      ->check(CLI::IsMember({"csv", "vcard", "vcf", "ics"}));
  export_cmd->add_option("--out,-o", export_args->out, ctx.tr(Msg::help_export_out))
      ->type_name("FILE");
  choose(*export_cmd, action, ctx, export_args, export_book);
}

}  // namespace libreta::cli
