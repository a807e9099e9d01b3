#pragma once

#include <string_view>

#include "controller/reconcilers/reconciler.hpp"

namespace redrive::controller {

// Invariants that must hold, counted in redrive_consistency_violations{check} and logged
// with a few ids, never fixed: a silent fix would hide the bug that broke them.
//  - completed_and_dead_lettered: an event both completed and dead-lettered;
//  - settled_order_with_pending_payment: a PAID/FAILED order whose payment event has been
//    pending longer than controller.stuck_after_seconds;
//  - created_orphan: a CREATED order older than stuck_after_seconds whose payment event is
//    dead-lettered or missing (also redrive_stuck_orders{class="created_orphan"}): nothing
//    will ever move it, an operator must.
// Each check reads only the rows that break it, through a partial index.
class ConsistencyReconciler final : public Reconciler {
 public:
  std::string_view name() const override { return "consistency"; }
  ReconcileResult Reconcile(CycleContext& context) override;
};

}  // namespace redrive::controller
