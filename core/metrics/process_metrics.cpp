#include "core/metrics/process_metrics.hpp"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <system_error>

namespace redrive::metrics {
namespace {

// Splits on runs of spaces/tabs/newlines.
std::vector<std::string_view> Fields(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t position = 0;
  while (position < text.size()) {
    const auto start = text.find_first_not_of(" \t\n", position);
    if (start == std::string_view::npos) break;
    auto end = text.find_first_of(" \t\n", start);
    if (end == std::string_view::npos) end = text.size();
    fields.push_back(text.substr(start, end - start));
    position = end;
  }
  return fields;
}

std::optional<unsigned long long> ParseUnsigned(std::string_view text) {
  unsigned long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<unsigned long long> ParseBootTime(std::string_view proc_stat) {
  constexpr std::string_view kPrefix = "btime ";
  std::size_t position = 0;
  while (position < proc_stat.size()) {
    auto end = proc_stat.find('\n', position);
    if (end == std::string_view::npos) end = proc_stat.size();
    const auto line = proc_stat.substr(position, end - position);
    if (line.starts_with(kPrefix)) {
      const auto fields = Fields(line.substr(kPrefix.size()));
      if (fields.size() != 1) return std::nullopt;
      return ParseUnsigned(fields[0]);
    }
    position = end + 1;
  }
  return std::nullopt;
}

std::string ReadWholeFile(const char* path) {
  std::ifstream file(path);
  if (!file) return {};
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return {.name = std::move(name), .help = std::move(help), .type = type, .metric = {metric}};
}

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view stat, std::string_view proc_stat,
                                      long ticks_per_second, long page_size) {
  if (ticks_per_second <= 0 || page_size <= 0) return std::nullopt;
  // The command name (field 2) is in parentheses and may itself hold spaces and ')', so
  // the fixed-position fields start after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  const auto fields = Fields(stat.substr(close + 1));
  // fields[0] is field 3 (state), so field N of proc(5) is fields[N - 3].
  constexpr std::size_t kUtime = 14 - 3, kStime = 15 - 3, kStartTime = 22 - 3, kVsize = 23 - 3,
                        kRss = 24 - 3;
  if (fields.size() <= kRss) return std::nullopt;
  const auto utime = ParseUnsigned(fields[kUtime]);
  const auto stime = ParseUnsigned(fields[kStime]);
  const auto start_time = ParseUnsigned(fields[kStartTime]);
  const auto vsize = ParseUnsigned(fields[kVsize]);
  // rss is signed in proc(5) but never negative in practice; a '-' fails the parse.
  const auto rss = ParseUnsigned(fields[kRss]);
  const auto boot_time = ParseBootTime(proc_stat);
  if (!utime || !stime || !start_time || !vsize || !rss || !boot_time) return std::nullopt;
  const auto ticks = static_cast<double>(ticks_per_second);
  return ProcStat{
      .cpu_seconds_total = static_cast<double>(*utime + *stime) / ticks,
      .virtual_memory_bytes = static_cast<double>(*vsize),
      .resident_memory_bytes = static_cast<double>(*rss) * static_cast<double>(page_size),
      .start_time_seconds =
          static_cast<double>(*boot_time) + static_cast<double>(*start_time) / ticks,
  };
}

std::optional<double> ParseMaxFds(std::string_view limits) {
  constexpr std::string_view kPrefix = "Max open files";
  std::size_t position = 0;
  while (position < limits.size()) {
    auto end = limits.find('\n', position);
    if (end == std::string_view::npos) end = limits.size();
    const auto line = limits.substr(position, end - position);
    if (line.starts_with(kPrefix)) {
      // "Max open files  <soft>  <hard>  files": the soft limit is what open() runs into.
      const auto fields = Fields(line.substr(kPrefix.size()));
      if (fields.empty()) return std::nullopt;
      if (fields[0] == "unlimited") return std::numeric_limits<double>::infinity();
      const auto soft = ParseUnsigned(fields[0]);
      if (!soft) return std::nullopt;
      return static_cast<double>(*soft);
    }
    position = end + 1;
  }
  return std::nullopt;
}

std::vector<prometheus::MetricFamily> ProcessFamilies(const ProcessSample& sample) {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  if (sample.stat) {
    const auto& stat = *sample.stat;
    families.push_back(Family("process_cpu_seconds_total",
                              "Total user and system CPU time spent in seconds.",
                              MetricType::Counter, stat.cpu_seconds_total));
    families.push_back(Family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                              MetricType::Gauge, stat.virtual_memory_bytes));
    families.push_back(Family("process_resident_memory_bytes", "Resident memory size in bytes.",
                              MetricType::Gauge, stat.resident_memory_bytes));
    families.push_back(Family("process_start_time_seconds",
                              "Start time of the process since unix epoch in seconds.",
                              MetricType::Gauge, stat.start_time_seconds));
  }
  if (sample.open_fds) {
    families.push_back(Family("process_open_fds", "Number of open file descriptors.",
                              MetricType::Gauge, *sample.open_fds));
  }
  if (sample.max_fds) {
    families.push_back(Family("process_max_fds", "Maximum number of open file descriptors.",
                              MetricType::Gauge, *sample.max_fds));
  }
  return families;
}

ProcessSample ReadProcessSample() {
  ProcessSample sample;
  sample.stat = ParseProcStat(ReadWholeFile("/proc/self/stat"), ReadWholeFile("/proc/stat"),
                              sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE));
  sample.max_fds = ParseMaxFds(ReadWholeFile("/proc/self/limits"));
  // Counts the directory's own descriptor too, as client_golang does.
  std::error_code error;
  std::filesystem::directory_iterator fds("/proc/self/fd", error);
  if (!error) {
    double count = 0;
    for (auto it = std::filesystem::begin(fds); it != std::filesystem::end(fds);
         it.increment(error)) {
      if (error) break;
      ++count;
    }
    if (!error) sample.open_fds = count;
  }
  return sample;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  return ProcessFamilies(ReadProcessSample());
}

}  // namespace redrive::metrics
