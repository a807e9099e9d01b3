#include "controller/reconcilers/all_reconcilers.hpp"

#include "controller/reconcilers/backlog_reconciler.hpp"
#include "controller/reconcilers/consistency_reconciler.hpp"
#include "controller/reconcilers/expired_claims_reconciler.hpp"
#include "controller/reconcilers/janitor_reconciler.hpp"
#include "controller/reconcilers/stuck_orders_reconciler.hpp"

namespace redrive::controller {

std::vector<std::unique_ptr<Reconciler>> BuildReconcilers() {
  // Claims first: a stuck order is only judged once its event's claim state is fresh.
  std::vector<std::unique_ptr<Reconciler>> reconcilers;
  reconcilers.push_back(std::make_unique<ExpiredClaimsReconciler>());
  reconcilers.push_back(std::make_unique<StuckOrdersReconciler>());
  reconcilers.push_back(std::make_unique<BacklogReconciler>());
  reconcilers.push_back(std::make_unique<JanitorReconciler>());
  reconcilers.push_back(std::make_unique<ConsistencyReconciler>());
  return reconcilers;
}

}  // namespace redrive::controller
