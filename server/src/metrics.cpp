#include "metrics.hpp"

#include <cmath>
#include <cstdio>

namespace libreta::server {
namespace {

std::string format_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char text[40];
  // Integers as integers (counters up to 2^53 exactly), the rest with enough digits.
  if (value == std::floor(value) && std::fabs(value) < 9.007199254740992e15) {
    std::snprintf(text, sizeof text, "%.0f", value);
  } else {
    std::snprintf(text, sizeof text, "%.9g", value);
  }
  return text;
}

void append_label_value(std::string& text, std::string_view value) {
  for (const char c : value) {
    if (c == '\\') {
      text += "\\\\";
    } else if (c == '"') {
      text += "\\\"";
    } else if (c == '\n') {
      text += "\\n";
    } else {
      text.push_back(c);
    }
  }
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i] = 0;
}

void Histogram::observe(double value) {
  std::size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  double sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
  }
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // The +Inf bucket is the count, as Prometheus requires: both from the same reads.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

void LabeledValues::add(const std::vector<std::string>& labels, std::int64_t delta) {
  std::lock_guard lock(mutex_);
  values_[labels] += delta;
}

std::vector<std::pair<std::vector<std::string>, std::int64_t>> LabeledValues::snapshot() const {
  std::lock_guard lock(mutex_);
  return {values_.begin(), values_.end()};
}

void MetricsText::family(std::string_view name, std::string_view type, std::string_view help) {
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  text_ += help;
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type;
  text_ += '\n';
}

void MetricsText::sample(std::string_view name, double value, const Labels& labels) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    bool first = true;
    for (const auto& [label, label_value] : labels) {
      if (!first) text_ += ',';
      first = false;
      text_ += label;
      text_ += "=\"";
      append_label_value(text_, label_value);
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += format_number(value);
  text_ += '\n';
}

void MetricsText::counter(std::string_view name, std::string_view help, double value) {
  family(name, "counter", help);
  sample(name, value);
}

void MetricsText::gauge(std::string_view name, std::string_view help, double value) {
  family(name, "gauge", help);
  sample(name, value);
}

void MetricsText::labeled(std::string_view name, std::string_view type, std::string_view help,
                          const std::vector<std::string_view>& label_names,
                          const LabeledValues& values) {
  family(name, type, help);
  for (const auto& [label_values, value] : values.snapshot()) {
    Labels labels;
    for (std::size_t i = 0; i < label_names.size() && i < label_values.size(); ++i)
      labels.emplace_back(label_names[i], label_values[i]);
    sample(name, static_cast<double>(value), labels);
  }
}

void MetricsText::histogram(std::string_view name, std::string_view help,
                            const Histogram& histogram) {
  family(name, "histogram", help);
  const Histogram::Snapshot s = histogram.snapshot();
  const std::string bucket = std::string(name) + "_bucket";
  for (std::size_t i = 0; i < histogram.bounds().size(); ++i) {
    const std::string bound = format_number(histogram.bounds()[i]);
    sample(bucket, static_cast<double>(s.cumulative[i]), {{"le", bound}});
  }
  sample(bucket, static_cast<double>(s.count), {{"le", "+Inf"}});
  sample(std::string(name) + "_sum", s.sum);
  sample(std::string(name) + "_count", static_cast<double>(s.count));
}

std::vector<double> duration_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> size_buckets() {
  return {1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000, 100000};
}

}  // namespace libreta::server
