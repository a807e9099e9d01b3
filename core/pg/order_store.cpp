#include "core/pg/order_store.hpp"

#include <pqxx/pqxx>
#include <stdexcept>

#include "core/runtime/failpoints.hpp"

namespace redrive::pg {
namespace {

constexpr int kMaxRaces = 5;

constexpr const char* kReadOrder = R"sql(
SELECT state, version, amount_cents, currency FROM orders WHERE id = $1
)sql";

constexpr const char* kMarkChargeRequested = R"sql(
UPDATE orders
SET state = 'PAYMENT_PENDING', version = version + 1,
    charge_requested_at = coalesce(charge_requested_at, now())
WHERE id = $1 AND version = $2 AND state IN ('CREATED', 'PAYMENT_PENDING')
RETURNING version, extract(epoch FROM now() - charge_requested_at)::float8
)sql";

constexpr const char* kSettleOrder = R"sql(
UPDATE orders SET state = $2, version = version + 1
WHERE id = $1 AND version = $3 AND state = 'PAYMENT_PENDING'
RETURNING version, extract(epoch FROM now() - created_at)::float8
)sql";

constexpr const char* kQueueWebhook = R"sql(
INSERT INTO outbox (event_id, consumer, event_type, aggregate_id, payload)
VALUES (redrive_uuid_v7(), 'webhook', $2, $1,
        jsonb_build_object('order_id', $1::uuid, 'status', $3::text,
                           'amount_cents', $4::bigint, 'currency', $5::text,
                           'charge_id', NULLIF($6::text, ''),
                           'payment_event_id', NULLIF($7::text, '')::uuid))
RETURNING event_id
)sql";

bool IsTerminalState(const std::string& state) {
  return state == "PAID" || state == "FAILED" || state == "NEEDS_REVIEW";
}

OrderRow ReadRow(const pqxx::row& row, const std::string& order_id) {
  return OrderRow{.id = order_id,
                  .state = row[0].as<std::string>(),
                  .version = row[1].as<int>(),
                  .amount_cents = row[2].as<long long>(),
                  .currency = row[3].as<std::string>()};
}

}  // namespace

std::string QueueSettlementWebhook(pqxx::transaction_base& tx, const SettlementWebhook& webhook) {
  return tx
      .exec_params1(kQueueWebhook, webhook.order_id,
                    webhook.paid ? "PaymentSucceeded" : "PaymentFailed",
                    webhook.paid ? "succeeded" : "declined", webhook.amount_cents, webhook.currency,
                    webhook.charge_id.value_or(""), webhook.payment_event_id.value_or(""))[0]
      .as<std::string>();
}

BeginCharge MarkChargeRequested(pqxx::connection_base& connection, const std::string& order_id) {
  for (int race = 0; race < kMaxRaces; ++race) {
    pqxx::work tx(connection, "mark_charge_requested");
    const pqxx::result found = tx.exec_params(kReadOrder, order_id);
    if (found.empty()) {
      return {.status = BeginChargeStatus::kNotFound, .order = {}, .charge_request_age_seconds = 0};
    }
    OrderRow order = ReadRow(found[0], order_id);
    if (IsTerminalState(order.state)) {
      return {
          .status = BeginChargeStatus::kTerminal, .order = order, .charge_request_age_seconds = 0};
    }
    if (runtime::HitFailpoint("between_read_and_write")) {
      throw std::runtime_error("failpoint between_read_and_write");
    }
    const pqxx::result updated = tx.exec_params(kMarkChargeRequested, order_id, order.version);
    if (updated.empty()) continue;  // lost the race: read again and decide again
    tx.commit();
    order.state = "PAYMENT_PENDING";
    order.version = updated[0][0].as<int>();
    return {.status = BeginChargeStatus::kReady,
            .order = order,
            .charge_request_age_seconds = updated[0][1].as<double>()};
  }
  throw std::runtime_error("order " + order_id + " kept changing while marking it PAYMENT_PENDING");
}

SettleResult Settle(pqxx::connection_base& connection, const ClaimedEvent& event,
                    const OrderRow& order, const ChargeResult& outcome) {
  const std::string new_state = outcome.paid ? "PAID" : "FAILED";
  pqxx::work tx(connection, "settle");
  SettleResult result;
  int version = order.version;
  bool settled = false;
  for (int race = 0; race < kMaxRaces && !settled; ++race) {
    const pqxx::result updated = tx.exec_params(kSettleOrder, order.id, new_state, version);
    if (!updated.empty()) {
      settled = true;
      result.payment_latency_seconds = updated[0][1].as<double>();
      break;
    }
    // Someone wrote the order since we marked it. The gateway's answer for this order's
    // key is still the truth, so settle the newer version, unless it is already settled.
    const pqxx::result current = tx.exec_params(kReadOrder, order.id);
    if (current.empty()) throw std::runtime_error("order " + order.id + " disappeared");
    const OrderRow now = ReadRow(current[0], order.id);
    if (IsTerminalState(now.state)) {
      result.status = SettleStatus::kAlreadyTerminal;
      result.state = now.state;
      break;
    }
    version = now.version;
  }
  if (!settled && result.status != SettleStatus::kAlreadyTerminal) {
    throw std::runtime_error("order " + order.id + " kept changing while settling it");
  }
  if (settled) {
    result.state = new_state;
    QueueSettlementWebhook(tx, {.order_id = order.id,
                                .paid = outcome.paid,
                                .amount_cents = order.amount_cents,
                                .currency = order.currency,
                                .charge_id = outcome.charge_id,
                                .payment_event_id = event.event_id});
  }
  CompleteInTransaction(tx, event);
  if (runtime::HitFailpoint("before_settle_commit")) {
    throw std::runtime_error("failpoint before_settle_commit");
  }
  tx.commit();
  return result;
}

}  // namespace redrive::pg
