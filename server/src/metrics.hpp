// The server's metrics as Prometheus reads them (the text exposition format, version 0.0.4):
// counters and gauges kept as atomics where they are updated, histograms with fixed buckets,
// families with labels, and the writer of the text GET /metrics answers (docs/operations.md
// lists every family and what to alert on).
//
// Threads: Histogram and LabeledValues are thread-safe (histograms lock-free, labeled values
// one mutex, for rare events); MetricsText is used by one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace libreta::server {

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, increasing; a last +Inf bucket is implied.
  explicit Histogram(std::vector<double> bounds);

  void observe(double value);

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf
    std::uint64_t count = 0;
    double sum = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bound, then +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Values by their labels' values (a gauge that goes up and down, or a counter), for events
// too rare to deserve an atomic each: refusals by code, connections by role and protocol.
class LabeledValues {
 public:
  void add(const std::vector<std::string>& labels, std::int64_t delta = 1);
  std::vector<std::pair<std::vector<std::string>, std::int64_t>> snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::int64_t> values_;
};

class MetricsText {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

  // The family's # HELP and # TYPE lines; `type` is counter, gauge or histogram.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, double value, const Labels& labels = {});
  // A whole family of one sample.
  void counter(std::string_view name, std::string_view help, double value);
  void gauge(std::string_view name, std::string_view help, double value);
  // A whole family of samples, one per label set: `label_names` name the values' labels.
  void labeled(std::string_view name, std::string_view type, std::string_view help,
               const std::vector<std::string_view>& label_names, const LabeledValues& values);
  void histogram(std::string_view name, std::string_view help, const Histogram& histogram);

  const std::string& text() const { return text_; }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

// Buckets of durations in seconds, from 1 ms to 10 s.
std::vector<double> duration_buckets();
// Buckets of counts (a group's changes), from 1 to 100,000.
std::vector<double> size_buckets();

}  // namespace libreta::server
