#pragma once

#include <string_view>

#include "controller/reconcilers/reconciler.hpp"

namespace redrive::controller {

// Stuck PAYMENT_PENDING orders: untouched for controller.stuck_after_seconds and with no
// pending payment event, oldest first. Each is classified by decide::ClassifyStuckOrder
// (asking the gateway by the order's idempotency key when a charge may have been sent),
// then re-emitted, marked PAID / FAILED, sent to NEEDS_REVIEW, or left for the next cycle.
//
// Every order that needs the gateway or a write takes one unit of the cycle's budget
// (refused: deferred, found again next cycle). Every write is one fenced transaction,
// conditional on the state and version read, with its redrive_log row. A fenced write ends
// the pass with an error: this controller is no longer the leader.
class StuckOrdersReconciler final : public Reconciler {
 public:
  // How many stuck orders one pass reads per unit of budget left, and the floor, so the
  // gauges still see a sample when the budget is spent.
  static constexpr int kScanPerBudgetUnit = 4;
  static constexpr int kMinScan = 50;
  static constexpr int kMaxScan = 10'000;

  std::string_view name() const override { return "stuck_orders"; }
  ReconcileResult Reconcile(CycleContext& context) override;
};

}  // namespace redrive::controller
