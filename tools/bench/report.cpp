#include "report.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdarg>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "support.hpp"

namespace libreta::bench {

namespace {

struct Summary {
  double median = 0, min = 0, max = 0;
};

// Median (mean of the two middle values for an even count), min and max; zeros when empty.
Summary summarize(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  const double median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  return {median, values.front(), values.back()};
}

void print_figure(const std::string& label, const Summary& s, const std::string& unit,
                  const std::string& note) {
  std::printf("  %-44s %11.2f %-11s (%.2f - %.2f)   %s\n", label.c_str(), s.median, unit.c_str(),
              s.min, s.max, note.c_str());
}

nlohmann::json to_json(const Summary& s) {
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

// The values of one figure over the runs that measured it; with `baseline`, the ratios to it.
std::vector<double> values_of(const std::vector<RunValues>& runs, const std::string& key,
                              const std::string& baseline = {}) {
  std::vector<double> values;
  for (const auto& run : runs) {
    const auto it = run.find(key);
    if (it == run.end()) continue;
    if (baseline.empty()) {
      values.push_back(it->second);
    } else if (const auto base = run.find(baseline); base != run.end() && base->second != 0) {
      values.push_back(it->second / base->second);
    }
  }
  return values;
}

}  // namespace

Reporter::Reporter(std::string program, std::string json_file)
    : program_(std::move(program)), json_file_(std::move(json_file)) {
  out_["program"] = program_;
  out_["machine"]["load_average_start"] = load_average();
}

void Reporter::say(const char* format, ...) {
  if (!text()) return;
  va_list args;
  va_start(args, format);
  std::vprintf(format, args);
  va_end(args);
  std::printf("\n");
  std::fflush(stdout);
}

void Reporter::header(const std::string& title, const char* build, const std::string& more) {
  const unsigned cores = std::thread::hardware_concurrency();
  say("%s", title.c_str());
  say("machine   %u cores (load average %.1f at start), SQLite %s, build %s%s", cores,
      load_average(), sqlite3_libversion(), build, more.c_str());
  machine("cores", cores);
  machine("sqlite", sqlite3_libversion());
  machine("build", build);
}

void Reporter::begin(const std::string& scenario, const std::string& description,
                     nlohmann::json parameters, std::vector<Figure> figures) {
  scenario_ = scenario;
  figures_ = std::move(figures);
  runs_.clear();
  out_["scenarios"][scenario_] = {{"parameters", std::move(parameters)}};
  say("\n%s: %s", scenario_.c_str(), description.c_str());
}

void Reporter::add_run(RunValues values) {
  runs_.push_back(std::move(values));
  if (!text() || figures_.empty()) return;
  const Figure& first = figures_.front();
  const auto it = runs_.back().find(first.key);
  std::printf("  run %zu: %s %.3f %s\n", runs_.size(), first.label.c_str(),
              it == runs_.back().end() ? 0.0 : it->second, first.unit.c_str());
  std::fflush(stdout);
}

void Reporter::end() {
  nlohmann::json& section = out_["scenarios"][scenario_];
  if (text()) {
    std::printf("%s, median over %zu run%s (min - max)\n", scenario_.c_str(), runs_.size(),
                runs_.size() == 1 ? "" : "s");
  }
  for (const Figure& figure : figures_) {
    const std::vector<double> values = values_of(runs_, figure.key);
    if (values.empty()) continue;
    const Summary summary = summarize(values);
    nlohmann::json entry = to_json(summary);
    entry["unit"] = figure.unit;
    entry["runs"] = values;
    if (!figure.note.empty()) entry["note"] = figure.note;
    if (text()) print_figure(figure.label, summary, figure.unit, figure.note);
    const std::vector<double> ratios = figure.baseline.empty()
                                           ? std::vector<double>{}
                                           : values_of(runs_, figure.key, figure.baseline);
    if (!ratios.empty()) {
      const Summary ratio = summarize(ratios);
      entry["baseline"] = figure.baseline;
      entry["ratio"] = to_json(ratio);
      const auto base = std::find_if(figures_.begin(), figures_.end(),
                                     [&](const Figure& f) { return f.key == figure.baseline; });
      std::string label = base == figures_.end() ? figure.baseline : base->label;
      label = "  ratio to " + label.substr(std::min(label.find_first_not_of(' '), label.size()));
      if (text()) print_figure(label, ratio, "x", "");
    }
    section["figures"][figure.key] = std::move(entry);
  }
  if (text()) std::fflush(stdout);
}

void Reporter::finish() {
  const double load = load_average();
  out_["machine"]["load_average_end"] = load;
  const double total = seconds_since(start_);
  out_["seconds"] = total;
  say("\ntotal %.0f s, load average %.1f at end", total, load);
  if (json_file_.empty()) return;
  const std::string json = out_.dump(2) + "\n";
  if (!text()) {
    std::fputs(json.c_str(), stdout);
    return;
  }
  std::ofstream file(json_file_);
  if (!(file << json)) throw std::runtime_error("cannot write " + json_file_);
}

}  // namespace libreta::bench
