#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config.hpp"
#include "core/decide/redrive_budget.hpp"
#include "core/metrics/controller_metrics.hpp"
#include "core/pg/fence.hpp"

namespace pqxx {
class connection_base;
}

namespace redrive::http {
class GatewayLookupClient;
}

namespace redrive::controller {

// Plan mode (`redrivectl plan`): one decision a fenced write would have carried out.
struct PlannedAction {
  std::string action;    // release, dead_letter, reemit_payment, mark_paid, mark_failed,
                         // needs_review, renotify, delete, wait
  std::string target;    // what it acts on: the event (claims), the order (stuck orders), the
                         // consumer (backlog) or the table (janitor)
  pg::AuditEntry audit;  // the redrive_log row it would have written, outcome "planned"
};

// Everything one reconcile pass may use. Level-triggered: a reconciler re-reads the
// database every cycle and never relies on what it did last time.
struct CycleContext {
  const config::Config& config;
  pg::Fence fence;                // every write checks it (pg::HoldsLease) in its transaction
  std::string instance_id;        // the audit actor
  std::string cycle_id;           // uuid of this cycle, in every audit row
  bool dry_run = false;           // compute and audit decisions, write nothing else
  decide::RedriveBudget& budget;  // re-drives left this cycle, across all reconcilers
  metrics::ControllerMetrics& metrics;
  // Runs `work` on the leader's database connection (opened and re-opened as needed);
  // pg::DatabaseError on failure.
  std::function<void(const std::function<void(pqxx::connection_base&)>& work)> with_connection;
  // Asks the gateway about an order's idempotency key; nullptr when not configured.
  const http::GatewayLookupClient* gateway = nullptr;
  std::function<double()> uniform01;  // jitter for backoff
  // Plan mode (set together with dry_run): no fenced write at all, not even an audit row;
  // each decision is appended here instead and counted as acted. Works without the lease.
  std::vector<PlannedAction>* plan = nullptr;
};

// Plan mode: appends what would have been done, as `audit` with outcome "planned".
void AddToPlan(CycleContext& context, std::string action, std::string target, pg::AuditEntry audit);

// An audit row for `rule` with who (instance), when (cycle, epoch) and dry_run filled in;
// the pg layer adds what was done.
pg::AuditEntry AuditFor(const CycleContext& context, std::string rule);

struct ReconcileResult {
  int acted = 0;      // rows/orders changed (or, in dry run, that would have been)
  int conflicts = 0;  // a guarded write lost to a concurrent writer (a worker, say)
  int deferred = 0;   // left for a later cycle (budget, breaker, gateway unreachable)
  std::optional<std::string> error;  // set when the pass failed; the cycle goes on
  // When this reconciler wants to look again, if sooner than the cycle interval.
  std::optional<std::chrono::milliseconds> requeue_after;
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // Stable, used as the metrics label `reconciler` and in logs.
  virtual std::string_view name() const = 0;
  virtual ReconcileResult Reconcile(CycleContext& context) = 0;
};

}  // namespace redrive::controller
