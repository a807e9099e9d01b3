#include "controller/reconcilers/janitor_reconciler.hpp"

#include <exception>

#include "core/pg/outbox_health.hpp"
#include "core/runtime/log.hpp"

namespace redrive::controller {
JanitorReconciler::JanitorReconciler(JanitorLimits limits) : limits_(limits) {}

ReconcileResult JanitorReconciler::Reconcile(CycleContext& context) {
  ReconcileResult result;
  const std::chrono::hours retention(context.config.controller.retention_hours);
  const std::int64_t per_cycle =
      static_cast<std::int64_t>(limits_.batch_size) * limits_.max_batches_per_table;
  try {
    context.with_connection([&](pqxx::connection_base& connection) {
      for (const auto table : {pg::RetainedTable::kProcessedEvents}) {
        const std::string table_name(pg::ToString(table));
        const pg::AuditEntry audit = AuditFor(context, "janitor");
        if (context.dry_run || context.plan != nullptr) {
          const auto would_delete = pg::CountPastRetention(connection, table, retention, per_cycle);
          if (would_delete == 0) continue;
          if (context.plan != nullptr) {
            pg::AuditEntry planned = audit;
            planned.reason = "would delete " + std::to_string(would_delete) + " " + table_name +
                             " rows past retention";
            AddToPlan(context, "delete", table_name, std::move(planned));
            result.acted += static_cast<int>(would_delete);
            continue;
          }
          if (pg::AuditJanitorPlan(connection, context.fence, table, would_delete, audit) ==
              pg::FencedWriteOutcome::kFenced) {
            result.error = "fenced: lease not held at epoch " + std::to_string(context.fence.epoch);
            return;
          }
          result.acted += static_cast<int>(would_delete);
          log::Info(
              "janitor would delete rows past retention",
              {{"table", table_name}, {"rows", would_delete}, {"cycle_id", context.cycle_id}});
          continue;
        }

        std::int64_t deleted = 0;
        bool more = false;
        for (int batch = 0; batch < limits_.max_batches_per_table; ++batch) {
          const auto done = pg::DeleteBatchPastRetention(connection, context.fence, table,
                                                         retention, limits_.batch_size, audit);
          if (done.outcome == pg::FencedWriteOutcome::kFenced) {
            result.error = "fenced: lease not held at epoch " + std::to_string(context.fence.epoch);
            return;
          }
          deleted += done.deleted;
          result.acted += static_cast<int>(done.deleted);
          context.metrics.JanitorDeleted(table_name).Increment(static_cast<double>(done.deleted));
          more = done.deleted == limits_.batch_size;
          if (!more) break;
        }
        if (deleted > 0) {
          // A full last batch: more rows wait; the next cycle goes on, so a large backlog is
          // trimmed at a bounded rate instead of in one long pass.
          log::Info("janitor deleted rows past retention", {{"table", table_name},
                                                            {"rows", deleted},
                                                            {"more_waiting", more},
                                                            {"cycle_id", context.cycle_id}});
        }
      }
    });
  } catch (const std::exception& error) {
    result.error = error.what();
  }
  return result;
}

}  // namespace redrive::controller
