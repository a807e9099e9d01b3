#include "controller/controller.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "controller/cycle.hpp"
#include "controller/reconcilers/all_reconcilers.hpp"
#include "core/decide/circuit_breaker.hpp"
#include "core/decide/leadership.hpp"
#include "core/http/admin_server.hpp"
#include "core/http/gateway_lookup.hpp"
#include "core/metrics/controller_metrics.hpp"
#include "core/pg/database_watch.hpp"
#include "core/pg/leader_lease.hpp"
#include "core/pg/thread_connection.hpp"
#include "core/runtime/health.hpp"
#include "core/runtime/log.hpp"
#include "core/runtime/system_clock.hpp"
#include "core/runtime/version.hpp"

namespace redrive::controller {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Signals are taken synchronously by one thread (sigwait), so nothing runs in a signal
// handler; the loops see flags and wake-ups.
class Signals {
 public:
  Signals() {
    sigemptyset(&set_);
    for (int signal : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set_, signal);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);  // inherited by every thread started later
    thread_ = std::thread([this] { Run(); });
  }
  ~Signals() {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    pthread_kill(thread_.native_handle(), SIGHUP);
    thread_.join();
  }

  bool stopping() const { return stopping_; }
  bool TakeReload() { return reload_.exchange(false); }
  void RequestStop() {
    stopping_ = true;
    wake_.notify_all();
  }
  // Sleeps up to `duration`, waking early on a signal.
  void SleepFor(milliseconds duration) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, duration, [this] { return stopping_.load() || reload_.load(); });
  }

 private:
  void Run() {
    while (true) {
      int signal = 0;
      if (sigwait(&set_, &signal) != 0) continue;
      std::lock_guard lock(mutex_);
      if (closing_) return;
      if (signal == SIGHUP) {
        reload_ = true;
      } else {
        stopping_ = true;
      }
      wake_.notify_all();
    }
  }

  sigset_t set_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> reload_{false};
  bool closing_ = false;
  std::thread thread_;
};

// Acquires and renews the lease on its own thread and connection, so a long cycle never
// delays a renewal.
class LeaderElector {
 public:
  LeaderElector(const config::Config& config, std::string instance_id, const Clock& clock,
                metrics::ControllerMetrics& metrics)
      : database_(config.database),
        instance_id_(std::move(instance_id)),
        lease_(seconds(config.controller.lease_seconds)),
        retry_(seconds(config.controller.lease_retry_seconds)),
        leadership_(clock,
                    {.lease = seconds(config.controller.lease_seconds),
                     .renew_deadline = seconds(config.controller.lease_renew_deadline_seconds),
                     .retry = seconds(config.controller.lease_retry_seconds)}),
        metrics_(metrics) {}

  ~LeaderElector() { Stop(); }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

  // Stops trying and, when leader, releases the lease so a standby takes over at once.
  void Stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (const auto epoch = leadership_.Epoch()) {
      try {
        const pg::Fence fence{
            .lease_name = pg::kControllerLease, .holder = instance_id_, .epoch = *epoch};
        pg::RunOnThreadConnection(database_, instance_id_,
                                  [&](pqxx::connection_base& c) { pg::ReleaseLease(c, fence); });
        log::Info("released the leader lease", {{"epoch", *epoch}});
      } catch (const std::exception& error) {
        log::Warn("could not release the lease; it expires on its own",
                  {{"error", config::RedactSecrets(error.what())}});
      }
    }
    leadership_.OnReleased();
    metrics_.leader.Set(0);
  }

  std::optional<pg::Fence> CurrentFence() const {
    const auto epoch = leadership_.Epoch();
    if (!epoch) return std::nullopt;
    return pg::Fence{.lease_name = pg::kControllerLease, .holder = instance_id_, .epoch = *epoch};
  }

 private:
  void Run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      Attempt();
      lock.lock();
      wake_.wait_for(lock, retry_, [this] { return stopping_; });
    }
  }

  void Attempt() {
    const bool was_leader = leadership_.IsLeader();
    try {
      pg::LeaseState state;
      const auto presented = leadership_.LastHeldEpoch();
      pg::RunOnThreadConnection(database_, instance_id_, [&](pqxx::connection_base& connection) {
        state =
            pg::AcquireOrRenew(connection, pg::kControllerLease, instance_id_, presented, lease_);
      });
      if (state.held) {
        leadership_.OnHeld(state.epoch);
        metrics_.leader_epoch.Set(static_cast<double>(state.epoch));
        if (!was_leader) log::Info("became leader", {{"epoch", state.epoch}});
      } else {
        leadership_.OnLost();
        if (was_leader) log::Warn("lost the leader lease", {{"holder", state.holder}});
      }
    } catch (const std::exception& error) {
      leadership_.OnAttemptFailed();
      log::Warn("lease attempt failed", {{"error", error.what()}});
      if (was_leader && !leadership_.IsLeader()) {
        log::Warn("stepping down: could not renew within the renew deadline");
      }
    }
    metrics_.leader.Set(leadership_.IsLeader() ? 1 : 0);
  }

  config::Database database_;
  std::string instance_id_;
  seconds lease_;
  seconds retry_;
  decide::Leadership leadership_;
  metrics::ControllerMetrics& metrics_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A mounted ConfigMap changes by an atomic symlink swap: watch the file's identity and
// modification time, not its contents.
std::string FileStamp(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return "";
  return std::to_string(info.st_ino) + ":" + std::to_string(info.st_mtim.tv_sec) + "." +
         std::to_string(info.st_mtim.tv_nsec);
}

// Re-reads and validates the configuration; keeps `current` (and says why) when the new one
// is invalid. Only the controller, worker and log sections apply without a restart.
void Reload(const ControllerSetup& setup, config::Config& current) {
  if (!setup.config_path) {
    log::Info("reload requested but there is no config file; environment unchanged");
    return;
  }
  const auto text = ReadFile(*setup.config_path);
  if (!text) {
    log::Error("reload failed: cannot read the config file; keeping the old configuration",
               {{"path", *setup.config_path}});
    return;
  }
  const config::LoadResult loaded = config::Load(*text, config::ProcessEnvironment());
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors) {
      log::Error("reload refused: invalid configuration; keeping the old configuration",
                 {{"key", error.key}, {"problem", error.problem}});
    }
    return;
  }
  const bool restart_needed = loaded.config.database.url != current.database.url ||
                              loaded.config.admin.listen != current.admin.listen ||
                              loaded.config.gateway.url != current.gateway.url;
  current.controller = loaded.config.controller;
  current.worker = loaded.config.worker;
  current.log = loaded.config.log;
  log::Level level = log::Level::kInfo;
  if (log::ParseLevel(current.log.level, level)) log::SetLevel(level);
  log::Info("configuration reloaded", {{"interval_seconds", current.controller.interval_seconds},
                                       {"redrive_budget", current.controller.redrive_budget},
                                       {"dry_run", current.controller.dry_run}});
  if (restart_needed) {
    log::Warn("database, admin or gateway settings changed: they apply after a restart");
  }
}

}  // namespace

int RunController(const ControllerSetup& setup) {
  Signals signals;
  config::Config config = setup.config;
  runtime::SystemClock clock;
  runtime::Health health(clock, seconds(config.admin.liveness_timeout_seconds));
  metrics::Registry registry({.component = "controller", .version = kRedriveVersion});
  metrics::ControllerMetrics metrics(registry);

  http::AdminServer admin({.listen = config.admin.listen,
                           .request_timeout = milliseconds(config.admin.request_timeout_ms)},
                          health, registry);
  if (!http::StartOrLog(admin)) return 1;
  pg::DatabaseWatch watch(config.database, milliseconds(2000), pg::ReadinessReport(health));

  decide::CircuitBreaker breaker(clock,
                                 {.failure_threshold = config.gateway.breaker_failure_threshold,
                                  .open_for = seconds(config.gateway.breaker_open_seconds)});
  const http::GatewayLookupClient gateway(*http::ParseHttpUrl(config.gateway.url),
                                          milliseconds(config.gateway.timeout_ms), clock, breaker);
  const auto reconcilers = BuildReconcilers();
  std::mt19937_64 random{std::random_device{}()};
  std::uniform_real_distribution<double> unit(0.0, 1.0);

  LeaderElector elector(config, setup.instance_id, clock, metrics);
  elector.Start();
  log::Info("controller started", {{"instance_id", setup.instance_id},
                                   {"admin_port", static_cast<int>(admin.port())},
                                   {"dry_run", config.controller.dry_run},
                                   {"once", setup.once}});

  std::string config_stamp = setup.config_path ? FileStamp(*setup.config_path) : "";
  int exit_code = 0;
  bool ran_once = false;
  const auto started = clock.Now();
  while (!signals.stopping()) {
    health.Beat();
    if (setup.config_path) {
      const std::string stamp = FileStamp(*setup.config_path);
      if (signals.TakeReload() || stamp != config_stamp) {
        config_stamp = stamp;
        Reload(setup, config);
      }
    } else if (signals.TakeReload()) {
      Reload(setup, config);
    }

    const auto fence = elector.CurrentFence();
    if (!fence) {
      if (setup.once && clock.Now() - started > seconds(config.controller.lease_seconds * 2)) {
        log::Error("--once: could not become leader; another controller holds the lease");
        exit_code = 1;
        break;
      }
      signals.SleepFor(milliseconds(200));
      continue;
    }

    decide::RedriveBudget budget(static_cast<std::size_t>(config.controller.redrive_budget),
                                 gateway.BreakerOpen());
    CycleContext context{
        .config = config,
        .fence = *fence,
        .instance_id = setup.instance_id,
        .cycle_id = "",
        .dry_run = config.controller.dry_run,
        .budget = budget,
        .metrics = metrics,
        .with_connection =
            [&](const std::function<void(pqxx::connection_base&)>& work) {
              pg::RunOnThreadConnection(config.database, setup.instance_id, work);
            },
        .gateway = &gateway,
        .uniform01 = [&] { return unit(random); },
    };
    pg::CycleStart start;
    try {
      context.with_connection([&](pqxx::connection_base& c) { start = pg::BeginCycle(c); });
    } catch (const std::exception& error) {
      log::Warn("cannot start a cycle: database unavailable", {{"error", error.what()}});
      if (setup.once) {
        exit_code = 1;
        break;
      }
      signals.SleepFor(seconds(1));
      continue;
    }
    context.cycle_id = start.cycle_id;
    const CycleReport report = RunCycle(reconcilers, context, clock);
    metrics.cycles_total.Increment();
    if (report.ok) metrics.last_successful_reconcile_timestamp_seconds.Set(start.now_epoch);
    ran_once = true;
    if (setup.once) {
      exit_code = report.ok ? 0 : 1;
      break;
    }
    // Sleep in short slices so /healthz keeps beating and signals are noticed at once.
    const auto next = clock.Now() + seconds(config.controller.interval_seconds);
    while (!signals.stopping() && clock.Now() < next) {
      health.Beat();
      signals.SleepFor(std::min<milliseconds>(
          milliseconds(500),
          std::chrono::duration_cast<milliseconds>(next - clock.Now()) + milliseconds(1)));
      if (signals.TakeReload()) {
        Reload(setup, config);
        break;
      }
    }
  }

  health.SetDraining();
  elector.Stop();
  admin.Stop();
  log::Info("controller stopped", {{"ran_a_cycle", ran_once}, {"exit_code", exit_code}});
  return exit_code;
}

}  // namespace redrive::controller
