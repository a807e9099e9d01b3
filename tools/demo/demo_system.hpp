#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/webhook_receiver.hpp"
#include "tools/demo/service.hpp"

namespace redrive::demo {

// Everything the demo runs, on 127.0.0.1 only, with its files under one folder: a throwaway
// PostgreSQL, gateway-sim with realistic faults, a signature-checking webhook subscriber,
// two payment workers, one webhook worker, two controllers and, when Debian's prometheus
// binaries are available, a Prometheus loaded with the shipped alert rules.
class DemoSystem {
 public:
  // Starts it all and waits until every process is ready; throws with the reason otherwise.
  explicit DemoSystem(std::string folder);
  ~DemoSystem();  // Stop()
  DemoSystem(const DemoSystem&) = delete;
  DemoSystem& operator=(const DemoSystem&) = delete;

  const std::string& folder() const { return folder_; }
  const std::string& database_url() const { return database_url_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& webhook_secret() const { return webhook_secret_; }
  std::string GatewayUrl() const;
  std::string PrometheusUrl() const;  // "" when Prometheus is not running
  std::string prometheus_note() const { return prometheus_note_; }

  std::vector<Service*> services();
  Service& payment_worker(int index) { return *payment_workers_.at(index); }
  testing::WebhookReceiver& receiver() { return receiver_; }
  std::vector<std::string> LogPaths() const;

  // gateway-sim's /v1/admin/faults (a partial update) and its /v1/ledger orders.
  void SetGatewayFaults(const nlohmann::json& faults) const;
  nlohmann::json LedgerOrders() const;
  // Names of the alerts Prometheus has firing; empty without Prometheus.
  std::vector<std::string> FiringAlerts() const;

  // Runs redrivectl against the demo database; returns its output.
  std::string Redrivectl(const std::vector<std::string>& args) const;

  // SIGTERM to every process (workers drain), then PostgreSQL. Idempotent.
  void Stop();

 private:
  void StartDatabase();
  void StartGateway();
  void StartServices();
  void StartPrometheus();

  std::string folder_;
  std::string webhook_secret_;
  std::unique_ptr<testing::PgCluster> cluster_;
  std::string database_url_;
  std::string config_path_;
  int gateway_port_ = 0;
  std::unique_ptr<testing::ChildProcess> gateway_;
  testing::WebhookReceiver receiver_;
  std::vector<std::unique_ptr<Service>> payment_workers_;
  std::vector<std::unique_ptr<Service>> other_services_;  // webhook worker, controllers
  int prometheus_port_ = 0;
  std::unique_ptr<testing::ChildProcess> prometheus_;
  std::string prometheus_note_;
};

// The faults gateway-sim starts with: some latency, some declines, 5xx before and after
// charging, dropped replies and the odd request never answered.
nlohmann::json RealisticGatewayFaults();

}  // namespace redrive::demo
