// The process's own metrics, read from /proc: resident memory, CPU time, open descriptors,
// start time; and the build's version. Written into a MetricsText; thread-safe.
#pragma once

#include "metrics.hpp"

namespace libreta::server {

void write_process_metrics(MetricsText& metrics);

}  // namespace libreta::server
