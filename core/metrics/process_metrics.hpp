#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <optional>
#include <string_view>
#include <vector>

// The process_* metrics every Prometheus client library exports (same names, types and
// units as client_golang's process collector), so stock dashboards and alerts work.
// Parsing is pure and takes file contents, so unit tests feed it sample /proc text.
namespace redrive::metrics {

// From /proc/self/stat (fields 14, 15, 22, 23, 24 of proc(5)) and /proc/stat (btime).
struct ProcStat {
  double cpu_seconds_total = 0;      // utime + stime
  double virtual_memory_bytes = 0;   // vsize
  double resident_memory_bytes = 0;  // rss pages * page size
  double start_time_seconds = 0;     // btime + starttime ticks: Unix time, no clock read
};

// nullopt when either text is malformed (or ticks/page size are not positive).
std::optional<ProcStat> ParseProcStat(std::string_view stat, std::string_view proc_stat,
                                      long ticks_per_second, long page_size);

// The soft "Max open files" limit from /proc/self/limits; +Inf when "unlimited", nullopt
// when the line is missing or malformed.
std::optional<double> ParseMaxFds(std::string_view limits);

// One scrape's worth of readings; a reading that failed is left out of the output rather
// than reported as 0, which a dashboard would believe.
struct ProcessSample {
  std::optional<ProcStat> stat;
  std::optional<double> open_fds;
  std::optional<double> max_fds;
};

// Renders a sample as metric families. Pure.
std::vector<prometheus::MetricFamily> ProcessFamilies(const ProcessSample& sample);

// Reads /proc/self at scrape time (never cached: a scrape must see the current values).
ProcessSample ReadProcessSample();

class ProcessCollector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace redrive::metrics
