#include "controller/reconcilers/consistency_reconciler.hpp"

#include <exception>

#include "core/pg/outbox_health.hpp"
#include "core/runtime/log.hpp"

namespace redrive::controller {

ReconcileResult ConsistencyReconciler::Reconcile(CycleContext& context) {
  ReconcileResult result;
  const std::chrono::seconds stuck_after(context.config.controller.stuck_after_seconds);
  try {
    context.with_connection([&](pqxx::connection_base& connection) {
      for (const auto& finding : pg::CheckConsistency(connection, stuck_after)) {
        context.metrics.ConsistencyViolations(finding.check)
            .Set(static_cast<double>(finding.count));
        if (finding.check == "created_orphan") {
          context.metrics.StuckOrders("created_orphan").Set(static_cast<double>(finding.count));
        }
        if (finding.count == 0) continue;
        std::string sample;
        for (const auto& id : finding.sample) sample += (sample.empty() ? "" : ",") + id;
        log::Warn("consistency check failed; not fixed automatically",
                  {{"check", finding.check},
                   {"count", finding.count},
                   {"sample_ids", sample},
                   {"cycle_id", context.cycle_id}});
      }
    });
  } catch (const std::exception& error) {
    result.error = error.what();
  }
  return result;
}

}  // namespace redrive::controller
