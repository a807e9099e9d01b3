#include "core/metrics/process_metrics.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>

#include "core/metrics/metrics.hpp"

namespace redrive::metrics {
namespace {

// A real /proc/self/stat line, with a command name holding a space and a ')' to make sure
// fields are counted from the last ')'. utime=250 stime=150 starttime=26322 vsize=3133440
// rss=408.
constexpr std::string_view kStat =
    "4365 (my worker) x) R 4361 4361 2989 0 -1 4194304 100 0 0 0 250 150 0 0 20 0 1 0 26322 "
    "3133440 408 18446744073709551615 94008815915008 94008815934889 140723168002816 0 0 0 0 0 "
    "0 0 0 17 0 0 0 0 0 0 94008815950896 94008815952512 94009818935296 140723168008844 "
    "140723168008864 140723168008864 140723168010219 0\n";

constexpr std::string_view kProcStat =
    "cpu  2255 34 2290 22625563 6290 127 456 0 0 0\n"
    "cpu0 1132 34 1441 11311718 3675 127 438 0 0 0\n"
    "intr 114930548 113199788 3 0 5 263 0 4 [... 200 more numbers ...] 0\n"
    "ctxt 1990473\n"
    "btime 1795303246\n"
    "processes 2915\n";

constexpr std::string_view kLimits =
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max cpu time              unlimited            unlimited            seconds   \n"
    "Max processes             95684                95684                processes \n"
    "Max open files            1024                 1048576              files     \n"
    "Max locked memory         8388608              8388608              bytes     \n";

TEST_CASE("process stats are read from /proc/self/stat and the boot time in /proc/stat") {
  const auto stat = ParseProcStat(kStat, kProcStat, 100, 4096);
  REQUIRE(stat.has_value());
  CHECK(stat->cpu_seconds_total == doctest::Approx(4.0));
  CHECK(stat->virtual_memory_bytes == 3133440.0);
  CHECK(stat->resident_memory_bytes == 408.0 * 4096);
  CHECK(stat->start_time_seconds == doctest::Approx(1795303246.0 + 263.22));
}

TEST_CASE("a truncated stat line is rejected rather than misread") {
  CHECK_FALSE(ParseProcStat("4365 (cat) R 4361 4361 2989 0", kProcStat, 100, 4096).has_value());
  CHECK_FALSE(ParseProcStat("no parenthesis at all", kProcStat, 100, 4096).has_value());
  CHECK_FALSE(ParseProcStat("", kProcStat, 100, 4096).has_value());
}

TEST_CASE("process stats are rejected when /proc/stat has no boot time") {
  CHECK_FALSE(ParseProcStat(kStat, "cpu  1 2 3\nctxt 5\n", 100, 4096).has_value());
  CHECK_FALSE(ParseProcStat(kStat, "btime soon\n", 100, 4096).has_value());
}

TEST_CASE("process stats are rejected when ticks per second or page size are not positive") {
  CHECK_FALSE(ParseProcStat(kStat, kProcStat, 0, 4096).has_value());
  CHECK_FALSE(ParseProcStat(kStat, kProcStat, 100, -1).has_value());
}

TEST_CASE("the file descriptor limit is the soft limit on open files") {
  CHECK(ParseMaxFds(kLimits) == 1024.0);
}

TEST_CASE("an unlimited file descriptor limit is reported as infinity") {
  const auto max_fds =
      ParseMaxFds("Max open files            unlimited            unlimited            files\n");
  REQUIRE(max_fds.has_value());
  CHECK(std::isinf(*max_fds));
}

TEST_CASE("a limits file without an open files line gives no file descriptor limit") {
  CHECK_FALSE(ParseMaxFds("Max cpu time  unlimited  unlimited  seconds\n").has_value());
  CHECK_FALSE(ParseMaxFds("Max open files  lots  lots  files\n").has_value());
}

TEST_CASE("process metrics use the names and types every Prometheus client exports") {
  ProcessSample sample;
  sample.stat = ProcStat{.cpu_seconds_total = 4,
                         .virtual_memory_bytes = 3133440,
                         .resident_memory_bytes = 1671168,
                         .start_time_seconds = 1795303509.22};
  sample.open_fds = 7;
  sample.max_fds = 1024;
  const auto families = ProcessFamilies(sample);
  const auto find = [&](const std::string& name) -> const prometheus::MetricFamily* {
    for (const auto& family : families) {
      if (family.name == name) return &family;
    }
    return nullptr;
  };
  REQUIRE(families.size() == 6);
  const auto* cpu = find("process_cpu_seconds_total");
  REQUIRE(cpu != nullptr);
  CHECK(cpu->type == prometheus::MetricType::Counter);
  CHECK(cpu->metric.at(0).counter.value == 4);
  const auto* rss = find("process_resident_memory_bytes");
  REQUIRE(rss != nullptr);
  CHECK(rss->type == prometheus::MetricType::Gauge);
  CHECK(rss->metric.at(0).gauge.value == 1671168);
  REQUIRE(find("process_virtual_memory_bytes") != nullptr);
  REQUIRE(find("process_start_time_seconds") != nullptr);
  CHECK(find("process_start_time_seconds")->metric.at(0).gauge.value == 1795303509.22);
  REQUIRE(find("process_open_fds") != nullptr);
  CHECK(find("process_open_fds")->metric.at(0).gauge.value == 7);
  REQUIRE(find("process_max_fds") != nullptr);
  CHECK(find("process_max_fds")->metric.at(0).gauge.value == 1024);
}

TEST_CASE("a process reading that failed is left out instead of reported as zero") {
  ProcessSample sample;
  sample.open_fds = 7;
  const auto families = ProcessFamilies(sample);
  REQUIRE(families.size() == 1);
  CHECK(families[0].name == "process_open_fds");
}

TEST_CASE("the registry exports build info as a constant 1 labelled with version and component") {
  Registry registry(BuildInfo{.component = "worker", .version = "1.2.3"});
  const auto families = registry.registry().Collect();
  REQUIRE(families.size() == 1);
  CHECK(families[0].name == "redrive_build_info");
  CHECK(families[0].type == prometheus::MetricType::Gauge);
  REQUIRE(families[0].metric.size() == 1);
  const auto& metric = families[0].metric[0];
  CHECK(metric.gauge.value == 1);
  std::map<std::string, std::string> labels;
  for (const auto& label : metric.label) labels[label.name] = label.value;
  CHECK(labels ==
        std::map<std::string, std::string>{{"component", "worker"}, {"version", "1.2.3"}});
}

}  // namespace
}  // namespace redrive::metrics
