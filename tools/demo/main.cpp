// redrive-demo: runs the whole system on loopback, places orders at a steady rate, kills a
// payment worker and takes the gateway down for a few seconds, shows what happens live, then
// checks the reliability invariants on what the run left behind. `make demo` runs it.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <iostream>
#include <pqxx/pqxx>

#include "tests/support/local_system.hpp"
#include "tests/support/order_load.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redrive_processes.hpp"
#include "tests/support/run_observations.hpp"
#include "tools/demo/progress.hpp"
#include "tools/demo/summary.hpp"

namespace {

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;
using redrive::demo::Progress;
using redrive::testing::LocalSystem;

std::atomic<int> g_interrupts{0};

void OnInterrupt(int) {
  ++g_interrupts;
}

struct Options {
  double duration_seconds = 60;
  double rate = 20;
  std::string folder;
  bool plain = false;
};

// Exit 2 with the reason on a bad flag, like every redrive binary.
Options ParseOptions(int argc, char** argv) {
  Options options;
  po::options_description described("redrive-demo options");
  described.add_options()("help,h", "show this help")(
      "duration", po::value(&options.duration_seconds)->default_value(60),
      "seconds of order traffic before the demo settles and checks")(
      "rate", po::value(&options.rate)->default_value(20), "orders placed per second")(
      "folder", po::value(&options.folder),
      "where logs, configuration and the database live (default: a new /tmp folder)")(
      "plain", po::bool_switch(&options.plain),
      "print progress as plain blocks instead of refreshing in place (the default when "
      "stdout is not a terminal)");
  po::variables_map values;
  try {
    po::store(po::parse_command_line(argc, argv, described), values);
    po::notify(values);
  } catch (const po::error& error) {
    std::cerr << "redrive-demo: " << error.what() << "\n" << described;
    std::exit(2);
  }
  if (values.count("help") != 0) {
    std::cout << "usage: redrive-demo [--duration S] [--rate N] [--folder DIR] [--plain]\n\n"
              << described;
    std::exit(0);
  }
  if (!(options.duration_seconds >= 5 && options.duration_seconds <= 86400)) {
    std::cerr << "redrive-demo: --duration must be between 5 and 86400 seconds\n";
    std::exit(2);
  }
  if (!(options.rate > 0 && options.rate <= 2000)) {
    std::cerr << "redrive-demo: --rate must be above 0 and at most 2000 orders per second\n";
    std::exit(2);
  }
  if (!isatty(STDOUT_FILENO)) options.plain = true;
  return options;
}

std::string Stamp(double seconds) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%5.1fs", seconds);
  return buffer;
}

// The live view: in place on a terminal, otherwise a block every ten seconds.
class View {
 public:
  explicit View(bool plain) : plain_(plain) {}
  void Show(const Progress& progress) {
    if (!plain_) {
      std::cout << "\x1b[H\x1b[2J" << redrive::demo::RenderProgress(progress) << std::flush;
      return;
    }
    if (Clock::now() < next_plain_) return;
    next_plain_ = Clock::now() + std::chrono::seconds(10);
    std::cout << redrive::demo::RenderProgress(progress) << "\n" << std::flush;
  }

 private:
  bool plain_;
  Clock::time_point next_plain_{};
};

// The demo's script: what it does to the system and when.
class Scenario {
 public:
  Scenario(LocalSystem& system, double duration) : system_(system), duration_(duration) {}

  // Called about once a second with the elapsed time; returns what it did, if anything.
  std::vector<std::string> Step(double elapsed) {
    std::vector<std::string> done;
    auto& victim = system_.payment_worker(0);
    if (!killed_ && elapsed >= 0.4 * duration_) {
      killed_ = true;
      const double inflight = victim.Metric("redrive_worker_inflight{consumer=\"payment\"}");
      const int pid = victim.pid();
      victim.Kill();
      done.push_back(Stamp(elapsed) + "  SIGKILL " + victim.name() + " (pid " +
                     std::to_string(pid) + ") with " + std::to_string(static_cast<int>(inflight)) +
                     " payments in flight; its claims expire after the 5 s lease");
    }
    if (killed_ && !restarted_ && elapsed >= 0.4 * duration_ + 3) {
      restarted_ = true;
      victim.Start();
      const bool ready = victim.WaitReady(std::chrono::seconds(10));
      done.push_back(Stamp(elapsed) + "  restarted " + victim.name() + " (pid " +
                     std::to_string(victim.pid()) + ")" + (ready ? ", ready" : ", NOT ready"));
    }
    if (!outage_ && elapsed >= 0.65 * duration_) {
      outage_ = true;
      system_.SetGatewayFaults({{"error_rate", 1.0}});
      done.push_back(Stamp(elapsed) + "  gateway outage: every charge answers 500 for 4 s");
    }
    if (outage_ && !recovered_ && elapsed >= 0.65 * duration_ + 4) {
      recovered_ = true;
      system_.SetGatewayFaults(
          {{"error_rate", redrive::testing::RealisticGatewayFaults().at("error_rate")}});
      done.push_back(Stamp(elapsed) + "  gateway back to its usual faults");
    }
    return done;
  }

  // The worker is back and the gateway has recovered.
  bool Done() const { return restarted_ && recovered_; }

 private:
  LocalSystem& system_;
  double duration_;
  bool killed_ = false;
  bool restarted_ = false;
  bool outage_ = false;
  bool recovered_ = false;
};

void ReadProcesses(LocalSystem& system, Progress& progress) {
  progress.processes.clear();
  for (auto* service : system.services()) {
    redrive::demo::ProcessRow row{.name = service->name(),
                                  .pid = service->pid(),
                                  .running = service->Running(),
                                  .admin_port = service->admin_port()};
    if (row.running && service->name().rfind("payment-", 0) == 0) {
      row.breaker_state = service->Metric("redrive_circuit_breaker_state{target=\"gateway\"}");
      row.inflight = service->Metric("redrive_worker_inflight{consumer=\"payment\"}");
    } else if (row.running && service->name().rfind("webhook-", 0) == 0) {
      row.inflight = service->Metric("redrive_worker_inflight{consumer=\"webhook\"}");
    }
    progress.processes.push_back(row);
  }
  progress.webhooks_received = static_cast<std::int64_t>(system.receiver().RequestCount());
}

std::int64_t Settled(const Progress& progress) {
  std::int64_t settled = 0;
  for (const char* state : {"PAID", "FAILED"}) {
    const auto found = progress.orders_by_state.find(state);
    if (found != progress.orders_by_state.end()) settled += found->second;
  }
  return settled;
}

int Run(const Options& options) {
  const std::string folder =
      options.folder.empty() ? redrive::testing::MakeTempDir("redrive-demo") : options.folder;
  std::cout << "redrive demo: starting PostgreSQL, gateway-sim, 2 payment workers, a webhook "
               "worker, 2 controllers"
            << " (files in " << folder << ")\n"
            << std::flush;
  redrive::testing::LocalSystemOptions system_options;
  system_options.folder = folder;
  LocalSystem system(std::move(system_options));
  std::cout << "ready. While it runs, look around in another terminal:\n"
            << "  build/bin/redrivectl --config " << system.config_path() << " status\n";
  if (!system.PrometheusUrl().empty()) {
    std::cout << "  Prometheus with the alert rules: " << system.PrometheusUrl() << "/alerts\n";
  }
  std::cout << std::flush;
  redrive::testing::SleepFor(std::chrono::seconds(options.plain ? 0 : 3));

  Progress progress;
  progress.duration_seconds = options.duration_seconds;
  std::deque<std::string> events;
  std::vector<std::string> all_events;
  View view(options.plain);
  Scenario scenario(system, options.duration_seconds);
  pqxx::connection watch(system.database_url());

  const auto start = Clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  std::int64_t last_settled = 0;
  // The script goes on while the system settles, so a short run still restarts the worker
  // and ends the outage.
  auto step_scenario = [&] {
    if (g_interrupts != 0) return;
    for (auto& event : scenario.Step(elapsed())) {
      all_events.push_back(event);
      events.push_back(event);
      if (events.size() > 6) events.pop_front();
    }
  };
  auto refresh = [&](const std::string& phase) {
    progress.phase = phase;
    progress.elapsed_seconds = elapsed();
    redrive::demo::ReadDatabaseProgress(watch, progress);
    ReadProcesses(system, progress);
    const auto settled = Settled(progress);
    progress.settled_per_second = static_cast<double>(settled - last_settled);
    last_settled = settled;
    progress.recent_events.assign(events.begin(), events.end());
    view.Show(progress);
  };

  {
    redrive::testing::OrderLoad load(system.database_url(), options.rate);
    while (g_interrupts == 0 && elapsed() < options.duration_seconds) {
      step_scenario();
      progress.placed = load.placed();
      progress.place_errors = load.failed();
      refresh(g_interrupts == 0 ? "placing " + std::to_string(static_cast<int>(options.rate)) +
                                      " orders/s (Ctrl-C to stop early)"
                                : "stopping");
      redrive::testing::SleepFor(std::chrono::seconds(1));
    }
    load.Stop();
    progress.placed = load.placed();
    progress.place_errors = load.failed();
  }

  // Stop placing, then let workers and controllers finish everything in flight. The bound is
  // what I1 promises: the lease, a stuck-order cycle and a few retries, with margin.
  constexpr double kSettleSeconds = 90;
  const double settle_start = elapsed();
  while (g_interrupts < 2 && elapsed() - settle_start < kSettleSeconds) {
    step_scenario();
    refresh(
        "settling: waiting for every order to reach PAID, FAILED or NEEDS_REVIEW "
        "(Ctrl-C again to skip)");
    if (progress.database_error.empty() && OpenWork(progress) == 0 && scenario.Done()) break;
    redrive::testing::SleepFor(std::chrono::seconds(1));
  }
  view.Show(progress);

  redrive::demo::Summary summary;
  summary.seconds = elapsed();
  summary.placed = progress.placed;
  summary.place_errors = progress.place_errors;
  summary.orders_by_state = progress.orders_by_state;
  summary.redrives_by_rule = progress.redrives_by_rule;
  summary.open_dead_letters = progress.open_dead_letters;
  summary.demo_events = all_events;
  summary.folder = folder;
  summary.prometheus_url = system.PrometheusUrl();
  summary.prometheus_note = system.prometheus_note();
  summary.firing_alerts = system.FiringAlerts();
  for (auto* service : system.services()) {
    summary.metrics_urls.emplace_back(service->name(), service->MetricsUrl());
  }

  const auto run = redrive::testing::Observe({.database_url = system.database_url(),
                                              .ledger_orders = system.LedgerOrders(),
                                              .log_paths = system.LogPaths(),
                                              .secrets = {system.webhook_secret()},
                                              .backlog_threshold = 0});
  summary.invariants = redrive::testing::CheckInvariants(run);
  summary.webhooks =
      redrive::demo::CheckWebhooks(system.receiver().Requests(), system.webhook_secret());
  summary.webhook_events_completed = std::stoll(redrive::testing::QueryValue(
      system.database_url(), "SELECT count(*) FROM processed_events WHERE consumer = 'webhook'"));

  // A re-driven order makes the best example: its timeline shows the controller's work.
  std::string example = redrive::testing::QueryValue(
      system.database_url(),
      "SELECT order_id::text FROM redrive_log WHERE order_id IS NOT NULL AND outcome = "
      "'applied' ORDER BY id LIMIT 1");
  if (example.empty()) {
    example = redrive::testing::QueryValue(
        system.database_url(), "SELECT id::text FROM orders ORDER BY created_at LIMIT 1");
  }
  const std::string prefix = "redrivectl --config " + system.config_path();
  summary.explored.emplace_back(prefix + " status", system.Redrivectl({"status"}));
  if (!example.empty()) {
    summary.explored.emplace_back(prefix + " order show " + example,
                                  system.Redrivectl({"order", "show", example}));
  }
  summary.explored.emplace_back(prefix + " dlq list", system.Redrivectl({"dlq", "list"}));

  system.Stop();
  std::cout << redrive::demo::RenderSummary(summary) << std::flush;
  return redrive::demo::Passed(summary) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  try {
    return Run(options);
  } catch (const std::exception& error) {
    std::cerr << "redrive-demo: " << error.what() << "\n";
    return 1;
  }
}
