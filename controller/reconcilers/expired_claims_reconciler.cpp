#include "controller/reconcilers/expired_claims_reconciler.hpp"

#include <cstdio>
#include <exception>

#include "core/decide/attempts.hpp"
#include "core/decide/backoff.hpp"
#include "core/runtime/log.hpp"

namespace redrive::controller {
namespace {

using std::chrono::milliseconds;

std::string Seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1fs", seconds);
  return text;
}

// Why the claim is being taken back, for the audit reason and the row's last_error.
std::string Diagnosis(const pg::RecoverableClaim& claim) {
  if (claim.fault == pg::ClaimFault::kExpired) {
    return "lease of " + claim.claimed_by + " expired " + Seconds(claim.overdue_seconds) + " ago";
  }
  return claim.claimed_by + " has no database session (lease had " +
         Seconds(-claim.overdue_seconds) + " left)";
}

// What to do with the row: the workers' own rule for a failed attempt, since a dead or
// stalled worker is one.
pg::ClaimRecovery Decide(const pg::RecoverableClaim& claim, const config::Worker& worker,
                         double uniform01) {
  pg::ClaimRecovery recovery;
  recovery.last_error = "recovered by the controller: " + Diagnosis(claim);
  const auto decision = decide::RetryOrDeadLetter(claim.attempts, worker.max_attempts);
  if (decision.action == decide::FailureAction::kDeadLetter) {
    recovery.action = pg::ClaimRecoveryAction::kDeadLetter;
    recovery.dead_letter_reason = decision.reason;
  } else {
    recovery.action = pg::ClaimRecoveryAction::kRelease;
    recovery.delay = decide::Backoff(
        claim.attempts,
        {.base = milliseconds(worker.backoff_base_ms), .max = milliseconds(worker.backoff_max_ms)},
        uniform01);
  }
  return recovery;
}

std::string Plan(const pg::RecoverableClaim& claim, const pg::ClaimRecovery& recovery,
                 int max_attempts) {
  const std::string attempts =
      std::to_string(claim.attempts) + " of " + std::to_string(max_attempts);
  if (recovery.action == pg::ClaimRecoveryAction::kDeadLetter) {
    return Diagnosis(claim) + "; attempts spent (" + attempts + "): dead-lettered " +
           recovery.dead_letter_reason;
  }
  return Diagnosis(claim) + "; attempt " + attempts + ": released, available in " +
         std::to_string(recovery.delay.count()) + "ms";
}

}  // namespace

ExpiredClaimsReconciler::ExpiredClaimsReconciler(int scan_limit) : scan_limit_(scan_limit) {}

ReconcileResult ExpiredClaimsReconciler::Reconcile(CycleContext& context) {
  ReconcileResult result;
  const config::Worker& worker = context.config.worker;
  try {
    context.with_connection([&](pqxx::connection_base& connection) {
      const auto claims = pg::FindRecoverableClaims(connection, scan_limit_);
      for (std::size_t i = 0; i < claims.size(); ++i) {
        const pg::RecoverableClaim& claim = claims[i];
        // Recovering a claim never calls the gateway, so only the budget can refuse it.
        if (!context.budget.Take(/*touches_gateway=*/false)) {
          result.deferred += static_cast<int>(claims.size() - i);
          break;
        }
        const std::string kind(pg::ToString(claim.fault));
        const pg::ClaimRecovery recovery =
            Decide(claim, worker, context.uniform01 ? context.uniform01() : 0.5);
        pg::AuditEntry audit = AuditFor(context, kind);
        audit.reason = Plan(claim, recovery, worker.max_attempts);
        if (context.plan != nullptr) {
          audit.event_id = claim.event_id;
          audit.order_id = claim.aggregate_id;
          AddToPlan(
              context,
              recovery.action == pg::ClaimRecoveryAction::kRelease ? "release" : "dead_letter",
              claim.event_id, std::move(audit));
          ++result.acted;
          continue;
        }
        if (before_write_) before_write_(claim);
        pg::FencedWriteOutcome outcome;
        try {
          outcome = pg::RecoverClaim(connection, context.fence, claim, recovery, audit);
        } catch (const std::exception&) {
          context.metrics.Redrives(kind, "error").Increment();
          throw;
        }
        const std::string outcome_name(pg::ToString(outcome));
        context.metrics.Redrives(kind, outcome_name).Increment();
        const log::Fields fields = {
            {"rule", kind},
            {"event_id", claim.event_id},
            {"consumer", claim.consumer},
            {"order_id", claim.aggregate_id.value_or("")},
            {"claimed_by", claim.claimed_by},
            {"attempts", claim.attempts},
            {"action",
             recovery.action == pg::ClaimRecoveryAction::kRelease ? "release" : "dead_letter"},
            {"outcome", outcome_name},
            {"cycle_id", context.cycle_id}};
        switch (outcome) {
          case pg::FencedWriteOutcome::kApplied:
          case pg::FencedWriteOutcome::kDryRun:
            ++result.acted;
            log::Info("claim recovered", fields);
            break;
          case pg::FencedWriteOutcome::kConflict:
            ++result.conflicts;
            log::Info("claim changed since the scan; left to its worker", fields);
            break;
          case pg::FencedWriteOutcome::kFenced:
            log::Warn("not the leader at this epoch any more; claim left alone", fields);
            result.error = "fenced: lease not held at epoch " + std::to_string(context.fence.epoch);
            return;
        }
      }
    });
  } catch (const std::exception& error) {
    result.error = error.what();
  }
  return result;
}

}  // namespace redrive::controller
