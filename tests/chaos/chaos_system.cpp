#include "tests/chaos/chaos_system.hpp"

#include <sstream>

#include "tests/support/process.hpp"
#include "tests/support/redrive_processes.hpp"
#include "tests/support/run_observations.hpp"

namespace redrive::chaos {
namespace {

constexpr const char* kOpenWork = R"sql(
SELECT (SELECT count(*) FROM orders WHERE state IN ('CREATED', 'PAYMENT_PENDING'))
     + (SELECT count(*) FROM outbox WHERE dead_at IS NULL)
)sql";

nlohmann::json ZeroFaults() {
  return {{"latency_ms", 0},           {"decline_rate", 0.0},
          {"error_rate", 0.0},         {"error_after_charge_rate", 0.0},
          {"drop_response_rate", 0.0}, {"timeout_rate", 0.0},
          {"rate_limit_rate", 0.0}};
}

}  // namespace

std::map<std::string, std::string> FastSettings() {
  return {{"REDRIVE_WORKER_LEASE_SECONDS", "3"},
          {"REDRIVE_WORKER_POLL_INTERVAL_MS", "250"},
          {"REDRIVE_WORKER_BACKOFF_BASE_MS", "50"},
          {"REDRIVE_WORKER_BACKOFF_MAX_MS", "500"},
          {"REDRIVE_WORKER_SHUTDOWN_GRACE_SECONDS", "5"},
          {"REDRIVE_GATEWAY_TIMEOUT_MS", "1000"},
          {"REDRIVE_GATEWAY_BREAKER_OPEN_SECONDS", "2"},
          {"REDRIVE_CONTROLLER_INTERVAL_SECONDS", "1"},
          {"REDRIVE_CONTROLLER_LEASE_SECONDS", "3"},
          {"REDRIVE_CONTROLLER_LEASE_RENEW_DEADLINE_SECONDS", "2"},
          {"REDRIVE_CONTROLLER_LEASE_RETRY_SECONDS", "1"},
          {"REDRIVE_CONTROLLER_STUCK_AFTER_SECONDS", "3"},
          {"REDRIVE_CONTROLLER_BACKLOG_ALERT_SECONDS", "5"}};
}

ChaosRun::ChaosRun(const ChaosOptions& options) {
  // The baseline holds only the knobs /v1/admin/faults accepts: flags such as
  // key_ttl_seconds are start-up settings, and a restore that sent them would be refused.
  baseline_faults_ = ZeroFaults();
  for (const auto& [knob, value] : options.gateway_faults.items()) {
    if (baseline_faults_.contains(knob)) baseline_faults_[knob] = value;
  }
  testing::LocalSystemOptions system_options;
  system_options.payment_workers = options.payment_workers;
  system_options.controllers = options.controllers;
  system_options.gateway_faults = options.gateway_faults;
  system_options.prometheus = false;
  system_options.env = FastSettings();
  for (const auto& [key, value] : options.env) system_options.env[key] = value;
  system_ = std::make_unique<testing::LocalSystem>(std::move(system_options));
}

ChaosRun::~ChaosRun() {
  StopLoad();
  system_->Stop();
}

void ChaosRun::StartLoad(double orders_per_second) {
  load_ = std::make_unique<testing::OrderLoad>(url(), orders_per_second);
}

void ChaosRun::StopLoad() {
  if (load_) load_->Stop();
}

void ChaosRun::PlaceOrders(int count) {
  testing::Execute(url(),
                   "SELECT place_order('bulk-' || g, 1000 + g, 'USD') FROM generate_series(1, " +
                       std::to_string(count) + ") g");
}

std::int64_t ChaosRun::OrderCount() const {
  return QueryCount(url(), "SELECT count(*) FROM orders");
}

std::optional<double> ChaosRun::Settle(std::chrono::seconds bound) {
  const auto start = testing::RealNow();
  const bool settled = testing::WaitUntil(
      [&] {
        try {
          return QueryCount(url(), kOpenWork) == 0;
        } catch (const std::exception&) {
          return false;  // the database may still be coming back
        }
      },
      bound);
  if (!settled) return std::nullopt;
  return std::chrono::duration<double>(testing::RealNow() - start).count();
}

std::vector<testing::InvariantResult> ChaosRun::Invariants() {
  const auto run = testing::Observe({.database_url = url(),
                                     .ledger_orders = system_->LedgerOrders(),
                                     .log_paths = system_->LogPaths(),
                                     .secrets = {system_->webhook_secret()},
                                     .backlog_threshold = 0});
  return testing::CheckInvariants(run);
}

std::string ChaosRun::Describe(const std::vector<testing::InvariantResult>& results) {
  std::ostringstream out;
  for (const auto& result : results) {
    out << (result.held ? "PASS " : "FAIL ") << result.id << " " << result.name << ": "
        << result.detail << "\n";
  }
  return out.str();
}

void ChaosRun::GatewayBurst(const nlohmann::json& faults, std::chrono::milliseconds duration) {
  system_->SetGatewayFaults(faults);
  testing::SleepFor(duration);
  RestoreGateway();
}

void ChaosRun::RestoreGateway() {
  system_->SetGatewayFaults(baseline_faults_);
}

std::int64_t QueryCount(const std::string& url, const std::string& sql) {
  const std::string value = testing::QueryValue(url, sql);
  return value.empty() ? 0 : std::stoll(value);
}

}  // namespace redrive::chaos
