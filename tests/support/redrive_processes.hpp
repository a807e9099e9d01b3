#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

// The real binaries as child processes on loopback, for end-to-end tests.
namespace redrive::testing {

// gateway-sim on 127.0.0.1 at a free port, ready when constructed.
class GatewaySim {
 public:
  explicit GatewaySim(const std::vector<std::string>& flags = {});
  int port() const { return port_; }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // {"<order_id>": {"captures": N, "status": ...}, ...}
  nlohmann::json LedgerOrders() const;
  void SetFaults(const nlohmann::json& faults) const;
  ChildProcess& process() { return *process_; }

 private:
  int port_;
  std::string log_dir_;
  std::unique_ptr<ChildProcess> process_;
};

// A redrive binary with its admin server on a free port and its log in a temp file.
class AdminProcess {
 public:
  int admin_port() const { return admin_port_; }
  ChildProcess& process() { return *process_; }
  std::string Log() const;
  // Waits for /readyz 200; false on timeout or when the process died.
  bool WaitReady(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // The value of one series in /metrics, e.g.
  // Metric("redrive_worker_inflight{consumer=\"payment\"}"), or -1 when absent.
  double Metric(const std::string& series) const;

 protected:
  AdminProcess(const std::vector<std::string>& argv, std::map<std::string, std::string> env);

 private:
  int admin_port_;
  std::string log_path_;
  std::unique_ptr<ChildProcess> process_;
};

// A redrive-worker with test-friendly defaults (fast polling, short backoff).
class WorkerProcess : public AdminProcess {
 public:
  WorkerProcess(const std::string& database_url, const std::string& consumer,
                const std::map<std::string, std::string>& env = {});
};

// A redrive-controller with test-friendly defaults (1 s cycles, a 3 s lease).
class ControllerProcess : public AdminProcess {
 public:
  ControllerProcess(const std::string& database_url,
                    const std::map<std::string, std::string>& env = {},
                    const std::vector<std::string>& flags = {});
};

// The value of one series in the /metrics of the admin server at 127.0.0.1:port, e.g.
// "redrive_leader", or -1 when absent or unreachable.
double MetricValue(int admin_port, const std::string& series);

// Runs one SQL statement and returns the first column of the first row as text ("" when
// there is no row or it is NULL).
std::string QueryValue(const std::string& database_url, const std::string& sql);
void Execute(const std::string& database_url, const std::string& sql);
std::string PlaceOrder(const std::string& database_url, long long amount_cents = 1000);
// Completes the live outbox rows that match `where` (an SQL condition on outbox) with the
// workers' own statement (pg::CompleteMany): each row is deleted and its event recorded in
// processed_events. Returns how many were completed.
std::int64_t CompleteOutboxRows(const std::string& database_url, const std::string& where);
// Polls until `sql` returns `expected` (as text).
bool WaitForValue(const std::string& database_url, const std::string& sql,
                  const std::string& expected,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace redrive::testing
