#include "controller/reconcilers/stuck_orders_reconciler.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "core/decide/stuck_order.hpp"
#include "core/domain/ids.hpp"
#include "core/http/gateway_lookup.hpp"
#include "core/pg/stuck_orders.hpp"
#include "core/runtime/log.hpp"

namespace redrive::controller {
namespace {

using decide::StuckAction;
using decide::StuckClass;

// The classes exported in redrive_stuck_orders{class}; kNotStuck never is.
constexpr std::array kExportedClasses = {StuckClass::kNeverSent, StuckClass::kOutcomeUnknown,
                                         StuckClass::kSettledAtGateway};

std::optional<pg::StuckOrderWrite> WriteFor(StuckAction action) {
  switch (action) {
    case StuckAction::kReemitPayment:
      return pg::StuckOrderWrite::kReemitPayment;
    case StuckAction::kMarkPaid:
      return pg::StuckOrderWrite::kMarkPaid;
    case StuckAction::kMarkFailed:
      return pg::StuckOrderWrite::kMarkFailed;
    case StuckAction::kNeedsReview:
      return pg::StuckOrderWrite::kNeedsReview;
    case StuckAction::kNoAction:
    case StuckAction::kAskGateway:
    case StuckAction::kWaitNextCycle:
      return std::nullopt;
  }
  return std::nullopt;
}

// The order's state after `write`, as pg::WriteStuckOrder would leave it.
const char* PlannedState(pg::StuckOrderWrite write) {
  switch (write) {
    case pg::StuckOrderWrite::kReemitPayment:
      return "PAYMENT_PENDING";
    case pg::StuckOrderWrite::kMarkPaid:
      return "PAID";
    case pg::StuckOrderWrite::kMarkFailed:
      return "FAILED";
    case pg::StuckOrderWrite::kNeedsReview:
      return "NEEDS_REVIEW";
  }
  return "PAYMENT_PENDING";
}

decide::StuckOrder DecisionInput(const pg::StuckOrderRow& row) {
  return {.state = domain::ParseOrderState(row.state).value_or(domain::OrderState::kCreated),
          .charge_requested = row.charge_requested,
          .charge_request_age = std::chrono::seconds(row.charge_request_age_seconds),
          .redrive_count = row.redrive_count,
          .lookup = std::nullopt};
}

int ScanLimit(const decide::RedriveBudget& budget) {
  const std::size_t wanted =
      budget.remaining() * static_cast<std::size_t>(StuckOrdersReconciler::kScanPerBudgetUnit);
  return static_cast<int>(std::clamp<std::size_t>(wanted, StuckOrdersReconciler::kMinScan,
                                                  StuckOrdersReconciler::kMaxScan));
}

void PublishGauges(const CycleContext& context, const std::vector<pg::StuckOrderRow>& orders,
                   const std::array<int, 4>& seen) {
  for (const StuckClass stuck_class : kExportedClasses) {
    context.metrics.StuckOrders(std::string(decide::ToString(stuck_class)))
        .Set(seen[static_cast<std::size_t>(stuck_class)]);
  }
  context.metrics.oldest_stuck_order_age_seconds.Set(orders.empty() ? 0.0
                                                                    : orders.front().stuck_seconds);
}

}  // namespace

ReconcileResult StuckOrdersReconciler::Reconcile(CycleContext& context) {
  const auto& settings = context.config.controller;
  const decide::StuckOrderPolicy policy{
      .max_redrives = settings.max_redrives,
      .key_retention = std::chrono::seconds(settings.key_retention_seconds)};

  std::vector<pg::StuckOrderRow> orders;
  context.with_connection([&](pqxx::connection_base& connection) {
    orders = pg::FindStuckOrders(connection, std::chrono::seconds(settings.stuck_after_seconds),
                                 ScanLimit(context.budget));
  });

  ReconcileResult result;
  std::array<int, 4> seen{};  // per StuckClass, after the gateway's answer when asked
  for (const pg::StuckOrderRow& order : orders) {
    decide::StuckOrder input = DecisionInput(order);
    decide::StuckDecision decision = decide::ClassifyStuckOrder(input, policy);
    if (decision.action == StuckAction::kNoAction) continue;

    // One unit per order, taken before the first thing that touches the gateway or the
    // order; a refusal leaves it for a later cycle (oldest first, so it is not starved).
    if (!context.budget.Take(decide::TouchesGateway(decision.action))) {
      ++seen[static_cast<std::size_t>(decision.stuck_class)];
      ++result.deferred;
      continue;
    }
    if (decision.action == StuckAction::kAskGateway) {
      // A read, so dry run asks too. No gateway configured: we know nothing, as if down.
      input.lookup = context.gateway != nullptr
                         ? context.gateway->Lookup(domain::IdempotencyKeyForOrder(order.id))
                         : decide::GatewayLookup::kUnreachable;
      decision = decide::ClassifyStuckOrder(input, policy);
    }
    ++seen[static_cast<std::size_t>(decision.stuck_class)];

    const auto write = WriteFor(decision.action);
    if (!write) {
      // kWaitNextCycle: the gateway could not say, and nothing may be assumed.
      ++result.deferred;
      if (context.plan != nullptr) {
        pg::AuditEntry audit = AuditFor(context, "stuck_order");
        audit.order_id = order.id;
        audit.state_before = order.state;
        audit.version_before = order.version;
        audit.reason = decision.reason;
        AddToPlan(context, "wait", order.id, std::move(audit));
        continue;
      }
      log::Info(
          "stuck order left for the next cycle",
          {{"order_id", order.id}, {"cycle_id", context.cycle_id}, {"reason", decision.reason}});
      continue;
    }

    const std::string kind(pg::ToString(*write));
    pg::AuditEntry audit = AuditFor(context, "stuck_order");
    audit.reason = decision.reason;
    if (context.plan != nullptr) {
      // What pg::WriteStuckOrder's dry run would have recorded.
      audit.order_id = order.id;
      audit.state_before = order.state;
      audit.version_before = order.version;
      audit.state_after = PlannedState(*write);
      audit.version_after = order.version + 1;
      AddToPlan(context, kind, order.id, std::move(audit));
      ++result.acted;
      continue;
    }
    pg::StuckOrderWriteResult written;
    try {
      context.with_connection([&](pqxx::connection_base& connection) {
        written = pg::WriteStuckOrder(connection, context.fence, order, *write, audit);
      });
    } catch (const std::exception& error) {
      // The database failed under us: the rest of the pass would fail the same way.
      context.metrics.Redrives(kind, "error").Increment();
      result.error = "stuck order " + order.id + ": " + error.what();
      break;
    }
    const std::string outcome(pg::ToString(written.outcome));
    context.metrics.Redrives(kind, outcome).Increment();
    log::Info("stuck order re-driven", {{"order_id", order.id},
                                        {"event_id", written.event_id.value_or("")},
                                        {"cycle_id", context.cycle_id},
                                        {"kind", kind},
                                        {"outcome", outcome},
                                        {"reason", decision.reason},
                                        {"dry_run", context.dry_run}});
    if (written.outcome == pg::FencedWriteOutcome::kFenced) {
      result.error = "fenced: lease " + context.fence.lease_name + " is no longer held at epoch " +
                     std::to_string(context.fence.epoch);
      break;
    }
    if (written.outcome == pg::FencedWriteOutcome::kConflict) {
      ++result.conflicts;
    } else {
      ++result.acted;
    }
  }
  PublishGauges(context, orders, seen);
  return result;
}

}  // namespace redrive::controller
