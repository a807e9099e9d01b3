#pragma once

#include <optional>
#include <string>

#include "core/pg/outbox_store.hpp"

namespace pqxx {
class connection_base;
class transaction_base;
}  // namespace pqxx

// The payment worker's order writes. Each is conditional on the order's state and version
// (optimistic locking): a lost race re-reads and decides again, never overwrites.
namespace redrive::pg {

struct OrderRow {
  std::string id;
  std::string state;
  int version = 0;
  long long amount_cents = 0;
  std::string currency;
};

enum class BeginChargeStatus { kReady, kNotFound, kTerminal };

struct BeginCharge {
  BeginChargeStatus status = BeginChargeStatus::kNotFound;
  OrderRow order;  // for kReady: PAYMENT_PENDING at its new version
  // For kReady: now() - charge_requested_at by the database's clock; 0 on the first request.
  double charge_request_age_seconds = 0;
};

// Moves the order to PAYMENT_PENDING (version + 1) and sets charge_requested_at unless it is
// already set (the first request's time bounds how long its idempotency key is safe to
// reuse). Re-reads after a lost race; throws std::runtime_error when the order keeps
// changing under it (transient: the event is retried).
BeginCharge MarkChargeRequested(pqxx::connection_base& connection, const std::string& order_id);

enum class SettleStatus { kSettled, kAlreadyTerminal };

struct SettleResult {
  SettleStatus status = SettleStatus::kSettled;
  std::string state;                   // the order's state afterwards
  double payment_latency_seconds = 0;  // order created -> settled, by the database's clock
};

struct ChargeResult {
  bool paid = false;
  std::optional<std::string> charge_id;
};

// The PaymentSucceeded / PaymentFailed event for the webhook consumer: how a payment ended.
// Queued in the transaction that settles the order, by the payment worker and by the
// controller alike, so subscribers see one shape whoever settled it.
struct SettlementWebhook {
  std::string order_id;
  bool paid = false;
  long long amount_cents = 0;
  std::string currency;
  std::optional<std::string> charge_id;  // the gateway's charge id, when known
  // The payment event the worker settled; none when the controller settled the order.
  std::optional<std::string> payment_event_id;
};

// Inserts the webhook outbox row in `tx`; returns its event_id.
std::string QueueSettlementWebhook(pqxx::transaction_base& tx, const SettlementWebhook& webhook);

// One transaction: the order becomes PAID or FAILED (conditional on PAYMENT_PENDING and
// its version, re-reading the version after a lost race), the PaymentSucceeded or
// PaymentFailed event is queued for the webhook consumer, and the payment event is
// completed and recorded in processed_events. If the order was settled meanwhile (by the
// controller, say) nothing about it changes and only the event is completed.
SettleResult Settle(pqxx::connection_base& connection, const ClaimedEvent& event,
                    const OrderRow& order, const ChargeResult& outcome);

}  // namespace redrive::pg
