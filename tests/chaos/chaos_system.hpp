#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/invariants.hpp"
#include "tests/support/local_system.hpp"
#include "tests/support/order_load.hpp"

// The system the reliability suite injects faults into: LocalSystem with short leases,
// cycles and backoff so that a fault is noticed and healed in seconds, plus the load, the
// settling and the invariant check every scenario ends with.
namespace redrive::chaos {

// How long, after the last fault healed, every order must take to reach PAID, FAILED or
// NEEDS_REVIEW (invariant I1): a worker lease (3 s), a stuck-order threshold (3 s), a few
// controller cycles (1 s), backoff (≤ 0.5 s) and an open breaker (2 s), with a wide margin
// for a loaded machine.
constexpr std::chrono::seconds kSettleBound{60};

// The REDRIVE_* settings of every process in a fault test.
std::map<std::string, std::string> FastSettings();

struct ChaosOptions {
  int payment_workers = 2;
  int controllers = 2;
  nlohmann::json gateway_faults = nlohmann::json::object();  // the baseline, restored after bursts
  std::map<std::string, std::string> env;                    // on top of FastSettings()
};

class ChaosRun {
 public:
  explicit ChaosRun(const ChaosOptions& options = {});
  ~ChaosRun();

  testing::LocalSystem& system() { return *system_; }
  const std::string& url() const { return system_->database_url(); }

  // Steady order traffic from another thread, as an order service would produce it.
  void StartLoad(double orders_per_second);
  void StopLoad();
  // Places `count` orders at once, in one statement.
  void PlaceOrders(int count);
  std::int64_t OrderCount() const;

  // Waits until no order is CREATED or PAYMENT_PENDING and no outbox row is pending; returns
  // the seconds it took, or nullopt after `bound`.
  std::optional<double> Settle(std::chrono::seconds bound = kSettleBound);

  // Gathers the evidence (database, gateway ledger, every log) and judges I1..I8.
  std::vector<testing::InvariantResult> Invariants();
  // One line per invariant, for a report or a failure message.
  static std::string Describe(const std::vector<testing::InvariantResult>& results);

  // Sets gateway knobs for `duration`, then puts the baseline back.
  void GatewayBurst(const nlohmann::json& faults, std::chrono::milliseconds duration);
  void RestoreGateway();

 private:
  nlohmann::json baseline_faults_;
  std::unique_ptr<testing::LocalSystem> system_;
  std::unique_ptr<testing::OrderLoad> load_;
};

// Reads one number from the database (a count, say); throws on error.
std::int64_t QueryCount(const std::string& url, const std::string& sql);

}  // namespace redrive::chaos
