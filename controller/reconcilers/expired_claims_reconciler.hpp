#pragma once

#include <functional>
#include <string_view>

#include "controller/reconcilers/reconciler.hpp"
#include "core/pg/claim_recovery.hpp"

namespace redrive::controller {

// Outbox claims no worker will finish: the lease ran out ("expired_claim"), or the holder
// has no session left in the database ("dead_worker_claim": a SIGKILLed worker's rows come
// back within one cycle instead of after its lease). Oldest lease first, one budget unit per
// row; each row is released with backoff(attempts) or, with its attempts spent,
// dead-lettered as max_attempts. Every write is fenced, compare-and-set on the claim (a
// worker that completes the row meanwhile wins: a conflict) and audited.
class ExpiredClaimsReconciler final : public Reconciler {
 public:
  // Rows read per pass. The budget usually stops the pass sooner; what is left is found
  // again next cycle.
  static constexpr int kDefaultScanLimit = 1000;

  explicit ExpiredClaimsReconciler(int scan_limit = kDefaultScanLimit);

  std::string_view name() const override { return "expired_claims"; }
  ReconcileResult Reconcile(CycleContext& context) override;

  // Runs after the scan, before each row's write: tests race a worker against it.
  void SetBeforeWriteHookForTesting(std::function<void(const pg::RecoverableClaim&)> hook) {
    before_write_ = std::move(hook);
  }

 private:
  int scan_limit_;
  std::function<void(const pg::RecoverableClaim&)> before_write_;
};

}  // namespace redrive::controller
