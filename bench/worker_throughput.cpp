// worker_throughput: how fast redrive-worker processes drain a backlog, end to end (payment
// consumer against a zero-latency gateway-sim) and through the claim machinery alone (noop
// consumer), for 1, 2 and 4 processes. Each scenario gets a fresh database in one throwaway
// PostgreSQL cluster. The figures are informational; the exit status is non-zero only when
// something failed: a drain timed out, a worker exited badly, or the gateway's ledger shows
// an order captured other than exactly once.
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/pg/migrations.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"

namespace redrive::bench {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace po = boost::program_options;
namespace t = redrive::testing;

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr milliseconds kPollEvery(20);
constexpr seconds kStopTimeout(30);

// What one worker process is configured with (REDRIVE_WORKER_* / REDRIVE_DATABASE_*).
struct WorkerKnobs {
  int concurrency = 16;
  int batch_size = 16;
  int pool_size = 8;
};

struct Settings {
  int orders = 5000;
  int noop_events = 50000;
  std::vector<int> processes = {1, 2, 4};
  WorkerKnobs knobs;
  int gateway_threads = 2;
  seconds timeout{120};
  bool payment = true;
  bool noop = true;
  bool sweep = false;
  int sweep_processes = 2;
  std::optional<std::string> keep_logs;  // copy every log here instead of deleting it
};

// One line of the table.
struct Row {
  std::string scenario;
  int processes = 0;
  WorkerKnobs knobs;
  long items = 0;
  double seconds = 0;
  bool ok = false;
  double transactions_per_item = -1;       // database transactions per item; < 0: unknown
  std::string notes;                       // checks, retries, or why it failed
  std::map<std::string, int> log_summary;  // "level: message" -> lines, from every worker
};

Row NewRow(const std::string& scenario, int processes, const WorkerKnobs& knobs, long items) {
  Row row;
  row.scenario = scenario;
  row.processes = processes;
  row.knobs = knobs;
  row.items = items;
  return row;
}

long Count(pqxx::connection& connection, const std::string& sql) {
  pqxx::nontransaction tx(connection);
  return tx.exec1(sql)[0].as<long>();
}

// A fresh database with every migration applied, and the bench's own connection to it.
// The connection is declared after the database so it closes before the DROP.
class BenchDatabase {
 public:
  explicit BenchDatabase(t::PgCluster& cluster) : database_(cluster), connection_(database_.Url()) {
    pg::Migrate(connection_);
  }
  std::string Url() const { return database_.Url(); }
  pqxx::connection& connection() { return connection_; }

  // pg_stat_database lags: a backend flushes its counters at most once a second while
  // busy. Flushing ours first keeps what this bench did earlier out of the next interval.
  void FlushOwnStatistics() {
    pqxx::nontransaction tx(connection_);
    tx.exec("SELECT pg_stat_force_next_flush()");
  }
  // Transactions ended in this database so far, those of exited backends included.
  long Transactions() { return Count(connection_, "SELECT xact_commit + xact_rollback" + kStats); }
  long Rollbacks() { return Count(connection_, "SELECT xact_rollback" + kStats); }
  // A backend flushes its statistics when it exits: wait until only ours is left.
  bool WaitForOtherSessionsGone() {
    return t::WaitUntil(
        [&] {
          return Count(connection_,
                       "SELECT count(*) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()") == 0;
        },
        10s);
  }
  void Load(const std::string& sql) {
    pqxx::work tx(connection_);
    tx.exec(sql);
    tx.commit();
    // Fresh statistics, as autovacuum would have in a long-running system, so the claim
    // query's plan does not depend on how soon autovacuum happens to notice the bulk load.
    pqxx::nontransaction analyze(connection_);
    analyze.exec0("ANALYZE");
  }

 private:
  static inline const std::string kStats =
      " FROM pg_stat_database WHERE datname = current_database()";
  t::TestDatabase database_;
  pqxx::connection connection_;
};

// gateway-sim on a loopback port with no latency and no faults.
class GatewaySim {
 public:
  GatewaySim(int threads, const std::string& log_path) : port_(t::FreeLoopbackPort()) {
    process_ = std::make_unique<t::ChildProcess>(
        std::vector<std::string>{t::BinaryPath("gateway-sim"), "--listen",
                                 "127.0.0.1:" + std::to_string(port_), "--threads",
                                 std::to_string(threads), "--log-level", "warn"},
        t::ProcessOptions{.env = {}, .stdout_path = log_path, .stderr_path = log_path});
    const bool up = t::WaitUntil(
        [&] { return !process_->Running() || t::HttpGet(port_, "/healthz").status == 200; }, 20s);
    if (!up || !process_->Running()) {
      throw std::runtime_error("gateway-sim did not come up:\n" + t::ReadFile(log_path));
    }
  }
  int port() const { return port_; }

 private:
  int port_;
  std::unique_ptr<t::ChildProcess> process_;  // SIGKILLed by its destructor; it has no state
};

// The worker processes of one scenario, started together.
class WorkerFleet {
 public:
  WorkerFleet(int count, const std::string& consumer, const std::string& database_url,
              std::optional<int> gateway_port, const WorkerKnobs& knobs,
              const std::string& log_dir) {
    std::map<std::string, std::string> env = {
        {"REDRIVE_DATABASE_URL", database_url},
        // Port 0: each worker's admin server takes its own free port, no race between them.
        {"REDRIVE_ADMIN_LISTEN", "127.0.0.1:0"},
        // At info a worker logs a line per event; warn keeps only what deserves a look.
        {"REDRIVE_LOG_LEVEL", "warn"},
        {"REDRIVE_WORKER_CONCURRENCY", std::to_string(knobs.concurrency)},
        {"REDRIVE_WORKER_BATCH_SIZE", std::to_string(knobs.batch_size)},
        {"REDRIVE_DATABASE_POOL_SIZE", std::to_string(knobs.pool_size)},
    };
    if (gateway_port)
      env["REDRIVE_GATEWAY_URL"] = "http://127.0.0.1:" + std::to_string(*gateway_port);
    for (int i = 0; i < count; ++i) {
      const std::string log = log_dir + "/" + consumer + "-worker-" + std::to_string(i) + ".log";
      log_paths_.push_back(log);
      workers_.push_back(std::make_unique<t::ChildProcess>(
          std::vector<std::string>{t::BinaryPath("redrive-worker"), "--consumer", consumer},
          t::ProcessOptions{.env = env, .stdout_path = log, .stderr_path = log}));
    }
  }

  // "" while every worker runs, otherwise which one stopped and its last words.
  std::string Exited() {
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      if (!workers_[i]->Running()) {
        return "worker " + std::to_string(i) + " exited early: " + Tail(t::ReadFile(log_paths_[i]));
      }
    }
    return "";
  }

  // SIGTERM to all, then waits for each: "" when every one drained and exited 0.
  std::string Stop() {
    for (auto& worker : workers_) worker->Signal(SIGTERM);
    std::string problems;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      const auto status = workers_[i]->Wait(kStopTimeout);
      if (status == 0) continue;
      problems += (problems.empty() ? "" : "; ") + std::string("worker ") + std::to_string(i) +
                  (status ? " exited " + std::to_string(*status) : " ignored SIGTERM");
    }
    return problems;
  }

  const std::vector<std::string>& log_paths() const { return log_paths_; }

 private:
  // The end of a log on one line, for a table cell.
  static std::string Tail(std::string text) {
    constexpr std::size_t kTail = 400;
    std::replace(text.begin(), text.end(), '\n', ' ');
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text.size() <= kTail ? text : "..." + text.substr(text.size() - kTail);
  }

  std::vector<std::string> log_paths_;
  std::vector<std::unique_ptr<t::ChildProcess>> workers_;  // SIGKILLed if still running
};

struct Drain {
  double seconds = 0;
  std::string failure;  // empty when the backlog reached zero
  long polls = 0;       // the poller's own transactions, not the workers'
};

// Polls `remaining_sql` until it counts 0; the clock started when the workers did.
Drain WaitForDrain(pqxx::connection& connection, const std::string& remaining_sql,
                   WorkerFleet& fleet, std::chrono::steady_clock::time_point started,
                   seconds timeout) {
  long polls = 0;
  while (true) {
    const long remaining = Count(connection, remaining_sql);
    ++polls;
    const auto now = t::RealNow();
    const double elapsed = std::chrono::duration<double>(now - started).count();
    if (remaining == 0) return {.seconds = elapsed, .failure = "", .polls = polls};
    if (const std::string exited = fleet.Exited(); !exited.empty()) {
      return {.seconds = elapsed, .failure = exited, .polls = polls};
    }
    if (now - started > timeout) {
      return {.seconds = elapsed,
              .failure = "timeout after " + std::to_string(timeout.count()) + " s, " +
                         std::to_string(remaining) + " items left",
              .polls = polls};
    }
    t::SleepFor(kPollEvery);
  }
}

// "level: message" -> lines, over every worker's log (they log at warn and above).
std::map<std::string, int> SummarizeLogs(const std::vector<std::string>& paths) {
  std::map<std::string, int> summary;
  for (const auto& path : paths) {
    std::istringstream lines(t::ReadFile(path));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      const auto json = nlohmann::json::parse(line, nullptr, false);
      if (json.is_object() && json.contains("message")) {
        ++summary[json.value("level", "?") + ": " + json.value("message", "")];
      } else {
        ++summary["raw: " + line.substr(0, 120)];
      }
    }
  }
  return summary;
}

// Orders whose capture count at the gateway is not exactly 1, plus captures of orders the
// database does not know. Throws when the ledger cannot be read.
long CaptureViolations(pqxx::connection& connection, int gateway_port) {
  const t::HttpReply reply = t::HttpGet(gateway_port, "/v1/ledger");
  if (reply.status != 200) {
    throw std::runtime_error("GET /v1/ledger: status " + std::to_string(reply.status) + " " +
                             reply.error);
  }
  const nlohmann::json ledger = nlohmann::json::parse(reply.body).at("orders");
  std::set<std::string> order_ids;
  {
    pqxx::nontransaction tx(connection);
    for (const auto& row : tx.exec("SELECT id::text FROM orders")) {
      order_ids.insert(row[0].as<std::string>());
    }
  }
  long violations = 0;
  for (const auto& id : order_ids) {
    const auto entry = ledger.find(id);
    const long captures = entry == ledger.end() ? 0 : entry->at("captures").get<long>();
    if (captures != 1) ++violations;
  }
  for (const auto& [id, entry] : ledger.items()) {
    if (order_ids.count(id) == 0 && entry.at("captures").get<long>() > 0) ++violations;
  }
  return violations;
}

void AddNote(Row& row, const std::string& note) {
  row.notes += (row.notes.empty() ? "" : ", ") + note;
}

// Finishes a row once the drain is over: stops the workers, records how they behaved.
// Database transactions per item are approximate (the few statistics reads are counted) but
// say how many round trips an item costs, which is what the CPU of a small machine pays for.
void StopAndRecord(Row& row, WorkerFleet& fleet, const Drain& drain, BenchDatabase& database,
                   long transactions_before, long rollbacks_before) {
  row.seconds = drain.seconds;
  row.ok = drain.failure.empty();
  if (!drain.failure.empty()) row.notes = "FAILED: " + drain.failure;
  if (const std::string stop = fleet.Stop(); !stop.empty()) {
    row.ok = false;
    row.notes += (row.notes.empty() ? "FAILED: " : "; ") + stop;
  }
  row.log_summary = SummarizeLogs(fleet.log_paths());
  if (row.ok && database.WaitForOtherSessionsGone()) {
    const long spent = database.Transactions() - transactions_before - drain.polls;
    row.transactions_per_item = static_cast<double>(spent) / static_cast<double>(row.items);
    const long rollbacks = database.Rollbacks() - rollbacks_before;
    if (rollbacks > 0) AddNote(row, "rollbacks: " + std::to_string(rollbacks));
  }
}

// Retries and dead letters are not failures of the bench, but with a fault-free gateway
// they should be zero; when they are not, the table says so.
void NoteRetries(Row& row, pqxx::connection& connection, const std::string& consumer) {
  const long retried = Count(connection, "SELECT count(*) FROM outbox WHERE consumer = '" +
                                             consumer + "' AND attempts > 1");
  const long dead = Count(connection, "SELECT count(*) FROM dead_letter_events");
  if (retried > 0) AddNote(row, "retried: " + std::to_string(retried));
  if (dead > 0) AddNote(row, "dead-lettered: " + std::to_string(dead));
}

Row RunPayment(t::PgCluster& cluster, const Settings& settings, int processes,
               const WorkerKnobs& knobs, const std::string& scenario, const std::string& log_dir) {
  Row row = NewRow(scenario, processes, knobs, settings.orders);
  BenchDatabase database(cluster);
  GatewaySim gateway(settings.gateway_threads, log_dir + "/gateway-sim.log");
  // A backlog: every order is placed before any worker runs.
  database.Load("SELECT count(place_order('bench', 100, 'USD')) FROM generate_series(1, " +
                std::to_string(settings.orders) + ")");

  database.FlushOwnStatistics();
  const long transactions_before = database.Transactions();
  const long rollbacks_before = database.Rollbacks();
  const auto started = t::RealNow();
  WorkerFleet fleet(processes, "payment", database.Url(), gateway.port(), knobs, log_dir);
  const Drain drain = WaitForDrain(database.connection(),
                                   "SELECT " + std::to_string(settings.orders) +
                                       " - count(*) FROM orders WHERE state IN ('PAID', 'FAILED')",
                                   fleet, started, settings.timeout);
  StopAndRecord(row, fleet, drain, database, transactions_before, rollbacks_before);

  // Only a finished drain can be checked: unfinished orders have no capture yet.
  if (!drain.failure.empty()) return row;
  const long violations = CaptureViolations(database.connection(), gateway.port());
  if (violations == 0) {
    AddNote(row, "captures: all 1");
  } else {
    row.ok = false;
    AddNote(row, "FAILED: captures != 1 for " + std::to_string(violations) + " orders");
  }
  const long failed =
      Count(database.connection(), "SELECT count(*) FROM orders WHERE state = 'FAILED'");
  if (failed > 0) AddNote(row, "orders in state FAILED: " + std::to_string(failed));
  NoteRetries(row, database.connection(), "payment");
  return row;
}

Row RunNoop(t::PgCluster& cluster, const Settings& settings, int processes,
            const std::string& log_dir) {
  Row row = NewRow("noop", processes, settings.knobs, settings.noop_events);
  BenchDatabase database(cluster);
  database.Load(
      "INSERT INTO outbox (consumer, event_type, payload) "
      "SELECT 'noop', 'Bench', '{}' FROM generate_series(1, " +
      std::to_string(settings.noop_events) + ")");

  database.FlushOwnStatistics();
  const long transactions_before = database.Transactions();
  const long rollbacks_before = database.Rollbacks();
  const auto started = t::RealNow();
  WorkerFleet fleet(processes, "noop", database.Url(), std::nullopt, settings.knobs, log_dir);
  // dead_at too: a dead-lettered row never completes, and should fail the run, not hang it.
  const Drain drain = WaitForDrain(database.connection(),
                                   "SELECT count(*) FROM outbox WHERE consumer = 'noop' "
                                   "AND dead_at IS NULL",
                                   fleet, started, settings.timeout);
  StopAndRecord(row, fleet, drain, database, transactions_before, rollbacks_before);
  NoteRetries(row, database.connection(), "noop");
  const long dead = Count(database.connection(), "SELECT count(*) FROM dead_letter_events");
  if (dead > 0) {
    row.ok = false;
    AddNote(row, "FAILED: a no-op event was dead-lettered");
  }
  return row;
}

// Runs one scenario in its own log folder; an exception becomes a failed row, not an abort.
template <typename Run>
Row Guarded(const std::string& scenario, int processes, const WorkerKnobs& knobs,
            const std::string& log_root, Run run) {
  const std::string log_dir = log_root + "/" + scenario + "-" + std::to_string(processes) + "-c" +
                              std::to_string(knobs.concurrency) + "-b" +
                              std::to_string(knobs.batch_size) + "-p" +
                              std::to_string(knobs.pool_size);
  std::filesystem::create_directories(log_dir);
  try {
    return run(log_dir);
  } catch (const std::exception& error) {
    Row row = NewRow(scenario, processes, knobs, 0);
    row.notes = std::string("FAILED: ") + error.what();
    return row;
  }
}

std::string Knobs(const WorkerKnobs& knobs) {
  return std::to_string(knobs.concurrency) + "/" + std::to_string(knobs.batch_size) + "/" +
         std::to_string(knobs.pool_size);
}

void PrintRow(const Row& row) {
  const double rate = row.seconds > 0 && row.ok ? static_cast<double>(row.items) / row.seconds : 0;
  char transactions[32] = "-";
  if (row.transactions_per_item >= 0) {
    std::snprintf(transactions, sizeof transactions, "%.2f", row.transactions_per_item);
  }
  std::printf("%-10s %5d %9s %8ld %9.3f %10.1f %8s  %s\n", row.scenario.c_str(), row.processes,
              Knobs(row.knobs).c_str(), row.items, row.seconds, rate, transactions,
              row.notes.c_str());
  std::fflush(stdout);
}

void PrintHeader() {
  std::printf("%-10s %5s %9s %8s %9s %10s %8s  %s\n", "scenario", "procs", "c/b/pool", "items",
              "seconds", "items/s", "tx/item", "notes");
}

std::vector<int> ParseList(const std::string& text, const std::string& flag) {
  std::vector<int> values;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      std::size_t used = 0;
      const int value = std::stoi(item, &used);
      if (used != item.size() || value < 1) throw std::invalid_argument(item);
      values.push_back(value);
    } catch (const std::exception&) {
      throw po::error(flag + ": expected positive integers separated by commas, got \"" + text +
                      "\"");
    }
  }
  if (values.empty()) throw po::error(flag + ": empty list");
  return values;
}

// Which of concurrency, batch size and pool size limits the 2-process payment drain: one
// knob at a time around the defaults, then all of them raised together.
std::vector<WorkerKnobs> SweepPoints() {
  return {{4, 16, 8},   {8, 16, 8},   {16, 16, 8}, {32, 16, 8}, {64, 16, 8},
          {16, 1, 8},   {16, 4, 8},   {16, 64, 8}, {16, 16, 2}, {16, 16, 4},
          {16, 16, 16}, {32, 32, 16}, {64, 64, 32}};
}

// What `nproc` prints: the CPUs this process may run on.
int UsableCpus() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(std::thread::hardware_concurrency());
}

int Run(const Settings& settings) {
  std::printf(
      "redrive worker_throughput: nproc %d, gateway-sim threads %d, per-scenario timeout "
      "%lld s\n",
      UsableCpus(), settings.gateway_threads, static_cast<long long>(settings.timeout.count()));
  std::printf(
      "Informational only: the machine is noisy and PostgreSQL, gateway-sim, the workers "
      "and this poller share its CPUs. Compare ratios within one run, not figures across "
      "runs. Time runs from starting the workers (process start-up included) to the "
      "backlog drained, polled every %lld ms.\n"
      "c/b/pool: REDRIVE_WORKER_CONCURRENCY / REDRIVE_WORKER_BATCH_SIZE / "
      "REDRIVE_DATABASE_POOL_SIZE of each worker. tx/item: transactions the database ran per "
      "item, every session but this poller's (worker pools, LISTEN wake-ups, autovacuum).\n\n",
      static_cast<long long>(kPollEvery.count()));

  auto cluster = t::PgCluster::Start();
  const std::string log_root = t::MakeTempDir("redrive-bench");
  std::vector<Row> rows;
  PrintHeader();
  const auto record = [&rows](Row row) {
    PrintRow(row);
    rows.push_back(std::move(row));
  };

  if (settings.payment) {
    for (const int processes : settings.processes) {
      record(Guarded("payment", processes, settings.knobs, log_root, [&](const std::string& dir) {
        return RunPayment(*cluster, settings, processes, settings.knobs, "payment", dir);
      }));
    }
  }
  if (settings.noop) {
    for (const int processes : settings.processes) {
      record(Guarded("noop", processes, settings.knobs, log_root, [&](const std::string& dir) {
        return RunNoop(*cluster, settings, processes, dir);
      }));
    }
  }
  if (settings.sweep) {
    std::printf(
        "\nsweep: payment, %d processes, one knob at a time around the defaults, then all "
        "raised\n",
        settings.sweep_processes);
    PrintHeader();
    for (const WorkerKnobs& knobs : SweepPoints()) {
      record(
          Guarded("sweep", settings.sweep_processes, knobs, log_root, [&](const std::string& dir) {
            return RunPayment(*cluster, settings, settings.sweep_processes, knobs, "sweep", dir);
          }));
    }
  }

  bool any_log = false;
  for (const Row& row : rows) {
    if (row.log_summary.empty()) continue;
    if (!any_log) std::printf("\nworker log lines at warn or above (lines: level: message):\n");
    any_log = true;
    std::printf("  %s x%d (%s):\n", row.scenario.c_str(), row.processes, Knobs(row.knobs).c_str());
    for (const auto& [message, lines] : row.log_summary) {
      std::printf("    %6d  %s\n", lines, message.c_str());
    }
  }
  if (!any_log) std::printf("\nworker logs: no line at warn or above\n");

  if (settings.keep_logs) {
    std::filesystem::create_directories(*settings.keep_logs);
    std::filesystem::copy(log_root, *settings.keep_logs,
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing);
    std::printf("logs kept in %s\n", settings.keep_logs->c_str());
  }
  std::error_code ignored;
  std::filesystem::remove_all(log_root, ignored);

  const bool ok = std::all_of(rows.begin(), rows.end(), [](const Row& row) { return row.ok; });
  std::printf("\nresult: %s\n", ok ? "ok" : "FAILED (see notes)");
  return ok ? 0 : kExitFailed;
}

}  // namespace
}  // namespace redrive::bench

int main(int argc, char** argv) {
  using redrive::bench::kExitUsage;
  redrive::bench::Settings settings;
  std::string processes = "1,2,4";
  std::string only;
  std::string keep_logs;
  int timeout_seconds = static_cast<int>(settings.timeout.count());

  namespace po = boost::program_options;
  po::options_description options(
      "worker_throughput: backlog drain rates of redrive-worker processes against a throwaway "
      "PostgreSQL cluster\n\nOptions");
  // clang-format off
  options.add_options()
      ("help,h", "print this help and exit")
      ("orders", po::value(&settings.orders)->default_value(settings.orders),
       "orders placed before the payment workers start")
      ("noop-events", po::value(&settings.noop_events)->default_value(settings.noop_events),
       "outbox rows for consumer noop inserted before the noop workers start")
      ("processes", po::value(&processes)->default_value(processes),
       "worker process counts to run, comma-separated")
      ("only", po::value(&only), "payment or noop: run just that scenario")
      ("concurrency", po::value(&settings.knobs.concurrency)->default_value(settings.knobs.concurrency),
       "REDRIVE_WORKER_CONCURRENCY for every worker")
      ("batch-size", po::value(&settings.knobs.batch_size)->default_value(settings.knobs.batch_size),
       "REDRIVE_WORKER_BATCH_SIZE for every worker")
      ("pool-size", po::value(&settings.knobs.pool_size)->default_value(settings.knobs.pool_size),
       "REDRIVE_DATABASE_POOL_SIZE for every worker")
      ("gateway-threads", po::value(&settings.gateway_threads)->default_value(settings.gateway_threads),
       "gateway-sim io_context threads")
      ("timeout-seconds", po::value(&timeout_seconds)->default_value(timeout_seconds),
       "give up on one scenario's drain after this long (a failure)")
      ("sweep", po::bool_switch(&settings.sweep),
       "also sweep concurrency, batch size and pool size for the payment drain")
      ("sweep-processes", po::value(&settings.sweep_processes)->default_value(settings.sweep_processes),
       "worker processes in the sweep")
      ("keep-logs", po::value(&keep_logs), "copy the worker and gateway-sim logs to this folder");
  // clang-format on

  try {
    po::variables_map values;
    po::store(po::parse_command_line(argc, argv, options), values);
    po::notify(values);
    if (values.count("help") != 0) {
      std::cout << options << "\n";
      return 0;
    }
    settings.processes = redrive::bench::ParseList(processes, "--processes");
    if (!only.empty() && only != "payment" && only != "noop") {
      throw po::error("--only: expected payment or noop, got \"" + only + "\"");
    }
    settings.payment = only.empty() || only == "payment";
    settings.noop = only.empty() || only == "noop";
    if (settings.orders < 1 || settings.noop_events < 1 || timeout_seconds < 1 ||
        settings.gateway_threads < 1 || settings.sweep_processes < 1) {
      throw po::error(
          "--orders, --noop-events, --timeout-seconds, --gateway-threads and "
          "--sweep-processes must be at least 1");
    }
    settings.timeout = std::chrono::seconds(timeout_seconds);
    if (!keep_logs.empty()) settings.keep_logs = keep_logs;
  } catch (const po::error& error) {
    std::cerr << "worker_throughput: " << error.what() << "\n";
    return kExitUsage;
  }

  try {
    return redrive::bench::Run(settings);
  } catch (const std::exception& error) {
    std::cerr << "worker_throughput: " << error.what() << "\n";
    return 1;
  }
}
