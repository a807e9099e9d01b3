#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <string>

#include "core/metrics/metrics.hpp"

namespace redrive::metrics {

// The families the controller exports (shapes after controller-runtime). Every dashboard
// panel and alert rule about the controller uses these names.
struct ControllerMetrics {
  explicit ControllerMetrics(Registry& registry);

  // result: success | error
  prometheus::Counter& Reconciles(const std::string& reconciler, const std::string& result);
  prometheus::Histogram& ReconcileDuration(const std::string& reconciler);
  // kind: expired_claim, dead_worker_claim, reemit_payment, mark_paid, mark_failed,
  //       needs_review, backlog_renotify; outcome: applied, conflict, dry_run, fenced, error
  prometheus::Counter& Redrives(const std::string& kind, const std::string& outcome);
  // class: never_sent, outcome_unknown, settled_at_gateway, created_orphan
  prometheus::Gauge& StuckOrders(const std::string& stuck_class);
  prometheus::Gauge& BacklogEvents(const std::string& consumer);
  prometheus::Gauge& OldestPendingAge(const std::string& consumer);
  prometheus::Gauge& DeadLetterEvents(const std::string& consumer);
  prometheus::Gauge& ConsistencyViolations(const std::string& check);
  // state: CREATED, PAYMENT_PENDING, NEEDS_REVIEW (settled orders are not counted)
  prometheus::Gauge& OpenOrders(const std::string& state);
  prometheus::Counter& JanitorDeleted(const std::string& table);

  prometheus::Family<prometheus::Counter>& reconcile_total;
  prometheus::Family<prometheus::Histogram>& reconcile_duration_seconds;
  prometheus::Family<prometheus::Counter>& redrives_total;
  prometheus::Family<prometheus::Gauge>& stuck_orders;
  prometheus::Gauge& oldest_stuck_order_age_seconds;
  prometheus::Family<prometheus::Gauge>& outbox_backlog_events;
  prometheus::Family<prometheus::Gauge>& outbox_oldest_pending_age_seconds;
  prometheus::Family<prometheus::Gauge>& dead_letter_events;
  prometheus::Gauge& needs_review_orders;
  prometheus::Family<prometheus::Gauge>& orders;
  prometheus::Family<prometheus::Gauge>& consistency_violations;
  prometheus::Family<prometheus::Counter>& janitor_deleted_rows_total;
  prometheus::Gauge& leader;
  prometheus::Gauge& leader_epoch;
  prometheus::Gauge& redrive_budget_remaining;
  prometheus::Gauge& last_successful_reconcile_timestamp_seconds;
  prometheus::Counter& cycles_total;
};

}  // namespace redrive::metrics
