#include "controller/reconcilers/backlog_reconciler.hpp"

#include <exception>

#include "core/pg/outbox_health.hpp"
#include "core/runtime/log.hpp"

namespace redrive::controller {
BacklogReconciler::BacklogReconciler(std::vector<std::string> known_consumers)
    : consumers_(known_consumers.begin(), known_consumers.end()) {}

ReconcileResult BacklogReconciler::Reconcile(CycleContext& context) {
  ReconcileResult result;
  const double alert_seconds = context.config.controller.backlog_alert_seconds;
  try {
    context.with_connection([&](pqxx::connection_base& connection) {
      const auto backlog = pg::ReadBacklog(connection);
      const auto dead_letters = pg::CountOpenDeadLetters(connection);
      const auto open_orders = pg::CountOpenOrders(connection);

      for (const auto& entry : backlog) consumers_.insert(entry.consumer);
      for (const auto& [consumer, count] : dead_letters) consumers_.insert(consumer);
      for (const auto& consumer : consumers_) {
        context.metrics.BacklogEvents(consumer).Set(0);
        context.metrics.OldestPendingAge(consumer).Set(0);
        const auto dead = dead_letters.find(consumer);
        context.metrics.DeadLetterEvents(consumer).Set(
            dead == dead_letters.end() ? 0.0 : static_cast<double>(dead->second));
      }
      context.metrics.needs_review_orders.Set(static_cast<double>(open_orders.needs_review));
      context.metrics.OpenOrders("CREATED").Set(static_cast<double>(open_orders.created));
      context.metrics.OpenOrders("PAYMENT_PENDING")
          .Set(static_cast<double>(open_orders.payment_pending));
      context.metrics.OpenOrders("NEEDS_REVIEW").Set(static_cast<double>(open_orders.needs_review));

      for (const auto& entry : backlog) {
        context.metrics.BacklogEvents(entry.consumer).Set(static_cast<double>(entry.pending));
        context.metrics.OldestPendingAge(entry.consumer).Set(entry.oldest_pending_age_seconds);
        if (entry.oldest_pending_age_seconds <= alert_seconds) continue;

        const std::string reason =
            "oldest of " + std::to_string(entry.pending) + " pending events is " +
            std::to_string(static_cast<std::int64_t>(entry.oldest_pending_age_seconds)) +
            "s old (alert at " + std::to_string(static_cast<std::int64_t>(alert_seconds)) + "s)";
        log::Warn("outbox backlog is older than the alert threshold; notifying workers again",
                  {{"consumer", entry.consumer},
                   {"pending", entry.pending},
                   {"oldest_pending_age_seconds", entry.oldest_pending_age_seconds},
                   {"cycle_id", context.cycle_id},
                   {"dry_run", context.dry_run}});
        pg::AuditEntry audit = AuditFor(context, "backlog_renotify");
        audit.reason = reason;
        if (context.plan != nullptr) {
          AddToPlan(context, "renotify", entry.consumer, std::move(audit));
          ++result.acted;
          continue;
        }
        const auto outcome = pg::Renotify(connection, context.fence, entry.consumer, audit);
        context.metrics.Redrives("backlog_renotify", std::string(pg::ToString(outcome)))
            .Increment();
        if (outcome == pg::FencedWriteOutcome::kFenced) {
          result.error = "fenced: lease not held at epoch " + std::to_string(context.fence.epoch);
          return;
        }
        ++result.acted;
      }
    });
  } catch (const std::exception& error) {
    result.error = error.what();
  }
  return result;
}

}  // namespace redrive::controller
