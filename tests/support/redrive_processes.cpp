#include "tests/support/redrive_processes.hpp"

#include <pqxx/pqxx>
#include <sstream>
#include <stdexcept>

#include "core/pg/outbox_store.hpp"
#include "tests/support/http_client.hpp"

namespace redrive::testing {

GatewaySim::GatewaySim(const std::vector<std::string>& flags)
    : port_(FreeLoopbackPort()), log_dir_(MakeTempDir("redrive-gw")) {
  std::vector<std::string> argv = {BinaryPath("gateway-sim"), "--listen",
                                   "127.0.0.1:" + std::to_string(port_), "--log-level", "warn"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  process_ = std::make_unique<ChildProcess>(
      argv, ProcessOptions{.env = {},
                           .stdout_path = log_dir_ + "/gateway.log",
                           .stderr_path = log_dir_ + "/gateway.log"});
  if (!WaitUntil(
          [&] { return HttpGet(port_, "/healthz").status == 200 || !process_->Running(); }) ||
      !process_->Running()) {
    throw std::runtime_error("gateway-sim did not start: " + ReadFile(log_dir_ + "/gateway.log"));
  }
}

nlohmann::json GatewaySim::LedgerOrders() const {
  const auto reply = HttpGet(port_, "/v1/ledger");
  if (reply.status != 200) throw std::runtime_error("ledger: " + reply.error);
  return nlohmann::json::parse(reply.body).at("orders");
}

void GatewaySim::SetFaults(const nlohmann::json& faults) const {
  const auto reply = HttpRequest("POST", port_, "/v1/admin/faults", faults.dump(),
                                 {{"Content-Type", "application/json"}});
  if (reply.status != 200) throw std::runtime_error("faults: " + reply.body + reply.error);
}

AdminProcess::AdminProcess(const std::vector<std::string>& argv,
                           std::map<std::string, std::string> env)
    : admin_port_(FreeLoopbackPort()) {
  log_path_ = MakeTempDir("redrive-proc") + "/process.log";
  env["REDRIVE_ADMIN_LISTEN"] = "127.0.0.1:" + std::to_string(admin_port_);
  process_ = std::make_unique<ChildProcess>(
      argv, ProcessOptions{.env = env, .stdout_path = log_path_, .stderr_path = log_path_});
}

std::string AdminProcess::Log() const {
  return ReadFile(log_path_);
}

bool AdminProcess::WaitReady(std::chrono::milliseconds timeout) {
  return WaitUntil(
             [&] { return !process_->Running() || HttpGet(admin_port_, "/readyz").status == 200; },
             timeout) &&
         process_->Running();
}

double AdminProcess::Metric(const std::string& series) const {
  return MetricValue(admin_port_, series);
}

double MetricValue(int admin_port, const std::string& series) {
  const auto reply = HttpGet(admin_port, "/metrics");
  std::istringstream lines(reply.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

namespace {

std::map<std::string, std::string> WithDefaults(std::map<std::string, std::string> defaults,
                                                const std::map<std::string, std::string>& env) {
  for (const auto& [key, value] : env) defaults[key] = value;
  return defaults;
}

}  // namespace

WorkerProcess::WorkerProcess(const std::string& database_url, const std::string& consumer,
                             const std::map<std::string, std::string>& env)
    : AdminProcess({BinaryPath("redrive-worker"), "--consumer", consumer},
                   WithDefaults({{"REDRIVE_DATABASE_URL", database_url},
                                 {"REDRIVE_WORKER_POLL_INTERVAL_MS", "200"},
                                 {"REDRIVE_WORKER_BACKOFF_BASE_MS", "50"},
                                 {"REDRIVE_WORKER_BACKOFF_MAX_MS", "200"},
                                 {"REDRIVE_GATEWAY_TIMEOUT_MS", "1000"},
                                 {"REDRIVE_WORKER_SHUTDOWN_GRACE_SECONDS", "5"}},
                                env)) {}

ControllerProcess::ControllerProcess(const std::string& database_url,
                                     const std::map<std::string, std::string>& env,
                                     const std::vector<std::string>& flags)
    : AdminProcess(
          [&] {
            std::vector<std::string> argv = {BinaryPath("redrive-controller")};
            argv.insert(argv.end(), flags.begin(), flags.end());
            return argv;
          }(),
          WithDefaults({{"REDRIVE_DATABASE_URL", database_url},
                        {"REDRIVE_CONTROLLER_INTERVAL_SECONDS", "1"},
                        {"REDRIVE_CONTROLLER_LEASE_SECONDS", "3"},
                        {"REDRIVE_CONTROLLER_LEASE_RENEW_DEADLINE_SECONDS", "2"},
                        {"REDRIVE_CONTROLLER_LEASE_RETRY_SECONDS", "1"},
                        {"REDRIVE_CONTROLLER_STUCK_AFTER_SECONDS", "2"},
                        {"REDRIVE_WORKER_BACKOFF_BASE_MS", "50"},
                        {"REDRIVE_WORKER_BACKOFF_MAX_MS", "200"}},
                       env)) {}

std::string QueryValue(const std::string& database_url, const std::string& sql) {
  pqxx::connection connection(database_url);
  pqxx::nontransaction tx(connection);
  const auto result = tx.exec(sql);
  if (result.empty() || result[0][0].is_null()) return "";
  return result[0][0].as<std::string>();
}

void Execute(const std::string& database_url, const std::string& sql) {
  pqxx::connection connection(database_url);
  pqxx::nontransaction tx(connection);
  tx.exec(sql);
}

std::string PlaceOrder(const std::string& database_url, long long amount_cents) {
  return QueryValue(database_url, "SELECT place_order('test-customer', " +
                                      std::to_string(amount_cents) + ", 'USD')");
}

std::int64_t CompleteOutboxRows(const std::string& database_url, const std::string& where) {
  pqxx::connection connection(database_url);
  std::vector<std::int64_t> ids;
  {
    pqxx::read_transaction tx(connection);
    for (const auto& row :
         tx.exec("SELECT id FROM outbox WHERE dead_at IS NULL AND (" + where + ") ORDER BY id")) {
      ids.push_back(row[0].as<std::int64_t>());
    }
  }
  if (ids.empty()) return 0;
  return pg::CompleteMany(connection, ids);
}

bool WaitForValue(const std::string& database_url, const std::string& sql,
                  const std::string& expected, std::chrono::milliseconds timeout) {
  return WaitUntil([&] { return QueryValue(database_url, sql) == expected; }, timeout);
}

}  // namespace redrive::testing
