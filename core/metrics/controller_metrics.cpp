#include "core/metrics/controller_metrics.hpp"

namespace redrive::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

}  // namespace

ControllerMetrics::ControllerMetrics(Registry& registry)
    : reconcile_total(BuildCounter()
                          .Name("redrive_reconcile_total")
                          .Help("Reconcile passes, by reconciler and result.")
                          .Register(registry.registry())),
      reconcile_duration_seconds(BuildHistogram()
                                     .Name("redrive_reconcile_duration_seconds")
                                     .Help("Duration of one reconcile pass.")
                                     .Register(registry.registry())),
      redrives_total(BuildCounter()
                         .Name("redrive_redrives_total")
                         .Help("Re-drive actions the controller took or planned, by kind and "
                               "outcome.")
                         .Register(registry.registry())),
      stuck_orders(BuildGauge()
                       .Name("redrive_stuck_orders")
                       .Help("Orders found stuck in the last cycle, by class.")
                       .Register(registry.registry())),
      oldest_stuck_order_age_seconds(BuildGauge()
                                         .Name("redrive_oldest_stuck_order_age_seconds")
                                         .Help("Age of the oldest stuck order in the last cycle.")
                                         .Register(registry.registry())
                                         .Add({})),
      outbox_backlog_events(BuildGauge()
                                .Name("redrive_outbox_backlog_events")
                                .Help("Outbox events not yet completed nor dead, by consumer.")
                                .Register(registry.registry())),
      outbox_oldest_pending_age_seconds(
          BuildGauge()
              .Name("redrive_outbox_oldest_pending_age_seconds")
              .Help("Age of the oldest pending outbox event, by consumer.")
              .Register(registry.registry())),
      dead_letter_events(BuildGauge()
                             .Name("redrive_dead_letter_events")
                             .Help("Dead letters waiting for an operator, by consumer.")
                             .Register(registry.registry())),
      needs_review_orders(BuildGauge()
                              .Name("redrive_needs_review_orders")
                              .Help("Orders in NEEDS_REVIEW, waiting for a human.")
                              .Register(registry.registry())
                              .Add({})),
      orders(BuildGauge()
                 .Name("redrive_orders")
                 .Help("Orders not yet settled, by state (CREATED, PAYMENT_PENDING, "
                       "NEEDS_REVIEW).")
                 .Register(registry.registry())),
      consistency_violations(BuildGauge()
                                 .Name("redrive_consistency_violations")
                                 .Help("Rows breaking an invariant in the last cycle, by check.")
                                 .Register(registry.registry())),
      janitor_deleted_rows_total(BuildCounter()
                                     .Name("redrive_janitor_deleted_rows_total")
                                     .Help("Rows the janitor deleted past retention, by table.")
                                     .Register(registry.registry())),
      leader(BuildGauge()
                 .Name("redrive_leader")
                 .Help("1 while this controller holds the leader lease.")
                 .Register(registry.registry())
                 .Add({})),
      leader_epoch(BuildGauge()
                       .Name("redrive_leader_epoch")
                       .Help("Epoch of the lease this controller holds or last held.")
                       .Register(registry.registry())
                       .Add({})),
      redrive_budget_remaining(BuildGauge()
                                   .Name("redrive_redrive_budget_remaining")
                                   .Help("Re-drives left in the last cycle's budget.")
                                   .Register(registry.registry())
                                   .Add({})),
      last_successful_reconcile_timestamp_seconds(
          BuildGauge()
              .Name("redrive_last_successful_reconcile_timestamp_seconds")
              .Help("Unix time (database clock) of the end of the last fully successful cycle.")
              .Register(registry.registry())
              .Add({})),
      cycles_total(BuildCounter()
                       .Name("redrive_controller_cycles_total")
                       .Help("Reconcile cycles this controller ran as leader.")
                       .Register(registry.registry())
                       .Add({})) {}

prometheus::Counter& ControllerMetrics::Reconciles(const std::string& reconciler,
                                                   const std::string& result) {
  return reconcile_total.Add({{"reconciler", reconciler}, {"result", result}});
}

prometheus::Histogram& ControllerMetrics::ReconcileDuration(const std::string& reconciler) {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return reconcile_duration_seconds.Add({{"reconciler", reconciler}}, kBuckets);
}

prometheus::Counter& ControllerMetrics::Redrives(const std::string& kind,
                                                 const std::string& outcome) {
  return redrives_total.Add({{"kind", kind}, {"outcome", outcome}});
}

prometheus::Gauge& ControllerMetrics::StuckOrders(const std::string& stuck_class) {
  return stuck_orders.Add({{"class", stuck_class}});
}

prometheus::Gauge& ControllerMetrics::BacklogEvents(const std::string& consumer) {
  return outbox_backlog_events.Add({{"consumer", consumer}});
}

prometheus::Gauge& ControllerMetrics::OldestPendingAge(const std::string& consumer) {
  return outbox_oldest_pending_age_seconds.Add({{"consumer", consumer}});
}

prometheus::Gauge& ControllerMetrics::DeadLetterEvents(const std::string& consumer) {
  return dead_letter_events.Add({{"consumer", consumer}});
}

prometheus::Gauge& ControllerMetrics::ConsistencyViolations(const std::string& check) {
  return consistency_violations.Add({{"check", check}});
}

prometheus::Gauge& ControllerMetrics::OpenOrders(const std::string& state) {
  return orders.Add({{"state", state}});
}

prometheus::Counter& ControllerMetrics::JanitorDeleted(const std::string& table) {
  return janitor_deleted_rows_total.Add({{"table", table}});
}

}  // namespace redrive::metrics
