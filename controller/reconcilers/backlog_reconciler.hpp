#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "controller/reconcilers/reconciler.hpp"

namespace redrive::controller {

// Per consumer: pending events and the age of the oldest (redrive_outbox_backlog_events,
// redrive_outbox_oldest_pending_age_seconds), open dead letters (redrive_dead_letter_events)
// and open orders by state (redrive_orders, redrive_needs_review_orders). A backlog older than
// controller.backlog_alert_seconds is logged and NOTIFYed again on the consumer's channel: a
// worker that lost a wake-up (its LISTEN connection dropped) looks again at once. Changes no
// row.
class BacklogReconciler final : public Reconciler {
 public:
  // Consumers whose gauges are exported from the first cycle on, at 0 while idle.
  explicit BacklogReconciler(std::vector<std::string> known_consumers = {"payment", "webhook"});

  std::string_view name() const override { return "backlog"; }
  ReconcileResult Reconcile(CycleContext& context) override;

 private:
  // Every consumer ever reported, so a drained one drops to 0 instead of keeping its last
  // value. Used for the gauges only: decisions always come from the database.
  std::set<std::string> consumers_;
};

}  // namespace redrive::controller
