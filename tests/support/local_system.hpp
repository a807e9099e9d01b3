#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/service_process.hpp"
#include "tests/support/webhook_receiver.hpp"

namespace redrive::testing {

// The faults gateway-sim starts with by default: some latency, some declines, 5xx before
// and after charging, dropped replies and the odd request never answered.
nlohmann::json RealisticGatewayFaults();

struct LocalSystemOptions {
  std::string folder;  // logs, redrive.yaml, Prometheus data
  int payment_workers = 2;
  int webhook_workers = 1;
  int controllers = 2;
  nlohmann::json gateway_faults = RealisticGatewayFaults();
  bool prometheus = true;  // when Debian's prometheus binaries are available
  // REDRIVE_* variables given to every redrive process; they override redrive.yaml.
  std::map<std::string, std::string> env;
};

// The whole of redrive on 127.0.0.1 only, with its files under one folder: a private
// throwaway PostgreSQL, gateway-sim, a signature-checking webhook subscriber, payment and
// webhook workers, controllers and, optionally, a Prometheus loaded with the shipped alert
// rules. The demo and the chaos tests run it.
class LocalSystem {
 public:
  // Starts it all and waits until every process is ready; throws with the reason otherwise.
  explicit LocalSystem(LocalSystemOptions options);
  ~LocalSystem();  // Stop()
  LocalSystem(const LocalSystem&) = delete;
  LocalSystem& operator=(const LocalSystem&) = delete;

  const std::string& folder() const { return folder_; }
  const std::string& database_url() const { return database_url_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& webhook_secret() const { return webhook_secret_; }
  std::string GatewayUrl() const;
  std::string PrometheusUrl() const;  // "" when Prometheus is not running
  std::string prometheus_note() const { return prometheus_note_; }

  std::vector<Service*> services();
  Service& payment_worker(int index) { return *payment_workers_.at(index); }
  Service& webhook_worker(int index) { return *webhook_workers_.at(index); }
  Service& controller(int index) { return *controllers_.at(index); }
  PgCluster& cluster() { return *cluster_; }
  int gateway_port() const { return gateway_port_; }
  WebhookReceiver& receiver() { return receiver_; }
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

  LocalSystemOptions options_;
  std::string folder_;
  std::string webhook_secret_;
  std::unique_ptr<PgCluster> cluster_;
  std::string database_url_;
  std::string config_path_;
  int gateway_port_ = 0;
  std::unique_ptr<ChildProcess> gateway_;
  WebhookReceiver receiver_;
  std::vector<std::unique_ptr<Service>> payment_workers_;
  std::vector<std::unique_ptr<Service>> webhook_workers_;
  std::vector<std::unique_ptr<Service>> controllers_;
  int prometheus_port_ = 0;
  std::unique_ptr<ChildProcess> prometheus_;
  std::string prometheus_note_;
};

}  // namespace redrive::testing
