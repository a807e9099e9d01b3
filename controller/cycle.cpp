#include "controller/cycle.hpp"

#include "core/runtime/log.hpp"

namespace redrive::controller {

pg::AuditEntry AuditFor(const CycleContext& context, std::string rule) {
  pg::AuditEntry audit;
  audit.actor = context.instance_id;
  audit.cycle_id = context.cycle_id;
  audit.epoch = context.fence.epoch;
  audit.rule = std::move(rule);
  audit.dry_run = context.dry_run;
  return audit;
}

void AddToPlan(CycleContext& context, std::string action, std::string target,
               pg::AuditEntry audit) {
  audit.outcome = "planned";
  context.plan->push_back(
      {.action = std::move(action), .target = std::move(target), .audit = std::move(audit)});
}

CycleReport RunCycle(const std::vector<std::unique_ptr<Reconciler>>& reconcilers,
                     CycleContext& context, const Clock& clock) {
  CycleReport report;
  for (const auto& reconciler : reconcilers) {
    const std::string name(reconciler->name());
    const auto started = clock.Now();
    ReconcileResult result;
    try {
      result = reconciler->Reconcile(context);
    } catch (const std::exception& error) {
      result.error = error.what();
    }
    context.metrics.ReconcileDuration(name).Observe(
        std::chrono::duration<double>(clock.Now() - started).count());
    context.metrics.Reconciles(name, result.error ? "error" : "success").Increment();
    if (result.error) {
      report.ok = false;
      log::Error("reconcile failed",
                 {{"reconciler", name}, {"cycle_id", context.cycle_id}, {"error", *result.error}});
    } else if (result.acted > 0 || result.conflicts > 0 || result.deferred > 0) {
      log::Info("reconciled", {{"reconciler", name},
                               {"cycle_id", context.cycle_id},
                               {"acted", result.acted},
                               {"conflicts", result.conflicts},
                               {"deferred", result.deferred},
                               {"dry_run", context.dry_run}});
    }
    report.acted += result.acted;
    report.conflicts += result.conflicts;
    report.deferred += result.deferred;
  }
  context.metrics.redrive_budget_remaining.Set(static_cast<double>(context.budget.remaining()));
  return report;
}

}  // namespace redrive::controller
