#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/pg/controller_scan.hpp"
#include "core/pg/fence.hpp"

namespace pqxx {
class connection_base;
}

// The controller's stuck-order SQL: the scan and the guarded, fenced, audited writes that
// carry out what decide::ClassifyStuckOrder chose.
namespace redrive::pg {

// What "stuck" means, shared by the controller and redrivectl: PAYMENT_PENDING, untouched
// for at least $1 seconds, with no payment event still pending (a worker would handle it),
// as the FROM and WHERE of a statement whose caller adds the select list (and, to list them,
// "ORDER BY o.updated_at LIMIT $2": oldest first). Served by orders_payment_pending_idx, the probe
// by outbox_aggregate_idx.
inline constexpr const char* kStuckOrdersFromWhere = R"sql(
FROM orders o
WHERE o.state = 'PAYMENT_PENDING'
  AND o.updated_at <= now() - make_interval(secs => $1)
  AND NOT EXISTS (
    SELECT 1 FROM outbox e
    WHERE e.aggregate_id = o.id AND e.consumer = 'payment' AND e.dead_at IS NULL)
)sql";

// The stuck-order scan, for EXPLAIN checks.
std::vector<ControllerScan> StuckOrderScans();

// A PAYMENT_PENDING order nobody is working on, as read by the scan. Times are the
// database's: never a pod's clock.
struct StuckOrderRow {
  std::string id;
  std::string state;  // always PAYMENT_PENDING when read; kept for the decision and the audit
  int version = 0;
  bool charge_requested = false;                // charge_requested_at IS NOT NULL
  std::int64_t charge_request_age_seconds = 0;  // floor(now() - charge_requested_at); 0 if unset
  int redrive_count = 0;
  double stuck_seconds = 0;  // now() - updated_at
};

// PAYMENT_PENDING orders untouched for at least `stuck_after` and with no pending payment
// event (an outbox row for consumer 'payment' that is neither completed nor dead means a
// worker will still handle the order), oldest first, at most `limit`.
std::vector<StuckOrderRow> FindStuckOrders(pqxx::connection_base& connection,
                                           std::chrono::seconds stuck_after, int limit);

// The writes a stuck order can get. Each is one transaction, conditional on the order
// still being PAYMENT_PENDING at the version the scan read.
enum class StuckOrderWrite {
  kReemitPayment,  // redrive_count + 1 and a new OrderCreated event for consumer 'payment'
  kMarkPaid,       // PAID + the PaymentSucceeded webhook event
  kMarkFailed,     // FAILED + the PaymentFailed webhook event
  kNeedsReview,    // NEEDS_REVIEW: a human decides
};

// "reemit_payment", "mark_paid", "mark_failed", "needs_review": the metrics label `kind`.
std::string_view ToString(StuckOrderWrite write);

struct StuckOrderWriteResult {
  FencedWriteOutcome outcome = FencedWriteOutcome::kFenced;
  std::optional<std::string> state_after;  // applied, or what dry run would have written
  std::optional<int> version_after;
  std::optional<std::string> event_id;  // the payment or webhook event queued (applied only)
};

// Carries out `write` for the order as `read` saw it, in one transaction that first checks
// `fence` (pg::HoldsLease) and ends with one redrive_log row (not when fenced). `audit`
// brings the who and why (actor, cycle_id, epoch, rule, reason, dry_run); the order, the
// states and versions, the event and the outcome are filled in here. With audit.dry_run
// only the audit row is written.
StuckOrderWriteResult WriteStuckOrder(pqxx::connection_base& connection, const Fence& fence,
                                      const StuckOrderRow& read, StuckOrderWrite write,
                                      AuditEntry audit);

}  // namespace redrive::pg
