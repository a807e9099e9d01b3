#include "core/pg/stuck_orders.hpp"

#include <pqxx/pqxx>

#include "core/pg/order_store.hpp"

namespace redrive::pg {
namespace {

// orders_payment_pending_idx (updated_at) WHERE state = 'PAYMENT_PENDING' walks the stuck
// orders oldest first; each NOT EXISTS probe is one lookup in outbox_aggregate_idx
// (aggregate_id, consumer) (with almost no pending payment rows the planner may read them
// once from outbox_pending_idx instead). Either way the cost follows the PAYMENT_PENDING and
// pending rows, not the tables: checked with EXPLAIN on 100k orders.
const std::string kFindStuckOrders = R"sql(
SELECT o.id::text, o.state, o.version, o.charge_requested_at IS NOT NULL,
       coalesce(floor(extract(epoch FROM now() - o.charge_requested_at)), 0)::bigint,
       o.redrive_count, extract(epoch FROM now() - o.updated_at)::float8
)sql" + std::string(kStuckOrdersFromWhere) +
                                     "ORDER BY o.updated_at\nLIMIT $2\n";

// Primary key. charge_requested_at is left alone: the key's retention keeps counting from
// the FIRST charge request, however many times the order is re-driven.
constexpr const char* kCountRedrive = R"sql(
UPDATE orders SET redrive_count = redrive_count + 1, version = version + 1
WHERE id = $1 AND state = 'PAYMENT_PENDING' AND version = $2
RETURNING version
)sql";

// A new event, same order: the worker charges with the order-derived idempotency key, so
// the gateway returns the first result if it ever saw one. `redrive` marks it for humans.
constexpr const char* kReemitPayment = R"sql(
INSERT INTO outbox (event_id, consumer, event_type, aggregate_id, payload)
VALUES (redrive_uuid_v7(), 'payment', 'OrderCreated', $1,
        jsonb_build_object('order_id', $1::uuid, 'redrive', true))
RETURNING event_id
)sql";

// Primary key. PAYMENT_PENDING -> PAID | FAILED | NEEDS_REVIEW.
constexpr const char* kMoveOrder = R"sql(
UPDATE orders SET state = $3, version = version + 1
WHERE id = $1 AND state = 'PAYMENT_PENDING' AND version = $2
RETURNING version, amount_cents, currency
)sql";

const char* TargetState(StuckOrderWrite write) {
  switch (write) {
    case StuckOrderWrite::kReemitPayment:
      return "PAYMENT_PENDING";
    case StuckOrderWrite::kMarkPaid:
      return "PAID";
    case StuckOrderWrite::kMarkFailed:
      return "FAILED";
    case StuckOrderWrite::kNeedsReview:
      return "NEEDS_REVIEW";
  }
  return "PAYMENT_PENDING";
}

// The order write and its event; nullopt when the guard lost (the order moved on).
std::optional<StuckOrderWriteResult> Apply(pqxx::work& tx, const StuckOrderRow& read,
                                           StuckOrderWrite write) {
  StuckOrderWriteResult result{.outcome = FencedWriteOutcome::kApplied,
                               .state_after = TargetState(write),
                               .version_after = std::nullopt,
                               .event_id = std::nullopt};
  if (write == StuckOrderWrite::kReemitPayment) {
    const pqxx::result counted = tx.exec_params(kCountRedrive, read.id, read.version);
    if (counted.empty()) return std::nullopt;
    result.version_after = counted[0][0].as<int>();
    result.event_id = tx.exec_params1(kReemitPayment, read.id)[0].as<std::string>();
    return result;
  }
  const pqxx::result moved = tx.exec_params(kMoveOrder, read.id, read.version, TargetState(write));
  if (moved.empty()) return std::nullopt;
  result.version_after = moved[0][0].as<int>();
  if (write == StuckOrderWrite::kMarkPaid || write == StuckOrderWrite::kMarkFailed) {
    // The lookup does not tell us the charge id; subscribers get the order and the outcome.
    result.event_id = QueueSettlementWebhook(tx, {.order_id = read.id,
                                                  .paid = write == StuckOrderWrite::kMarkPaid,
                                                  .amount_cents = moved[0][1].as<long long>(),
                                                  .currency = moved[0][2].as<std::string>(),
                                                  .charge_id = std::nullopt,
                                                  .payment_event_id = std::nullopt});
  }
  return result;
}

}  // namespace

std::string_view ToString(StuckOrderWrite write) {
  switch (write) {
    case StuckOrderWrite::kReemitPayment:
      return "reemit_payment";
    case StuckOrderWrite::kMarkPaid:
      return "mark_paid";
    case StuckOrderWrite::kMarkFailed:
      return "mark_failed";
    case StuckOrderWrite::kNeedsReview:
      return "needs_review";
  }
  return "unknown";
}

std::vector<StuckOrderRow> FindStuckOrders(pqxx::connection_base& connection,
                                           std::chrono::seconds stuck_after, int limit) {
  pqxx::read_transaction tx(connection, "find_stuck_orders");
  const pqxx::result rows =
      tx.exec_params(kFindStuckOrders, static_cast<double>(stuck_after.count()), limit);
  std::vector<StuckOrderRow> orders;
  orders.reserve(rows.size());
  for (const auto& row : rows) {
    orders.push_back({.id = row[0].as<std::string>(),
                      .state = row[1].as<std::string>(),
                      .version = row[2].as<int>(),
                      .charge_requested = row[3].as<bool>(),
                      .charge_request_age_seconds = row[4].as<std::int64_t>(),
                      .redrive_count = row[5].as<int>(),
                      .stuck_seconds = row[6].as<double>()});
  }
  tx.commit();
  return orders;
}

StuckOrderWriteResult WriteStuckOrder(pqxx::connection_base& connection, const Fence& fence,
                                      const StuckOrderRow& read, StuckOrderWrite write,
                                      AuditEntry audit) {
  pqxx::work tx(connection, "stuck_order");
  if (!HoldsLease(tx, fence)) return {};  // aborted when tx goes: nothing written

  StuckOrderWriteResult result;
  if (audit.dry_run) {
    result = {.outcome = FencedWriteOutcome::kDryRun,
              .state_after = TargetState(write),
              .version_after = read.version + 1,
              .event_id = std::nullopt};
  } else if (auto applied = Apply(tx, read, write)) {
    result = *applied;
  } else {
    result = {.outcome = FencedWriteOutcome::kConflict,
              .state_after = std::nullopt,
              .version_after = std::nullopt,
              .event_id = std::nullopt};
  }

  audit.order_id = read.id;
  audit.event_id = result.event_id;
  audit.state_before = read.state;
  audit.version_before = read.version;
  audit.state_after = result.state_after;
  audit.version_after = result.version_after;
  audit.outcome = std::string(ToString(result.outcome));
  AppendAudit(tx, audit);
  tx.commit();
  return result;
}

std::vector<ControllerScan> StuckOrderScans() {
  return {{"stuck_orders", "orders_payment_pending_idx", kFindStuckOrders, "120, 1000"}};
}

}  // namespace redrive::pg
