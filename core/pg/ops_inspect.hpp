#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/pg/claim_recovery.hpp"

namespace pqxx {
class connection_base;
}

// redrivectl's read-only views (status, stuck orders, one order's history) and the demo
// order generator. Every time is the database's (unix seconds as float8, so the CLI formats
// them one way); every age is computed against the database's now(), never the CLI host's
// clock. Every scan is served by an index (docs/schema.md); the one exception, the count of
// settled orders in ReadSystemStatus, says so.
namespace redrive::pg {

// ---- status ---------------------------------------------------------------------------

struct ConsumerStatus {
  std::string consumer;
  std::int64_t pending = 0;  // neither completed nor dead (claimed ones included)
  std::optional<double> oldest_pending_age_seconds;  // none when nothing is pending
  std::int64_t in_flight_claims = 0;                 // claimed, lease still running
  std::int64_t expired_claims = 0;                   // claimed, lease over: the controller's
  std::int64_t open_dead_letters = 0;                // neither replayed nor discarded
};

struct LeaseStatus {
  std::string name;
  std::optional<std::string> holder;  // none when the lease was never taken or was released
  std::int64_t epoch = 0;
  std::optional<double> expires_at;          // none until first taken ('-infinity')
  std::optional<double> expires_in_seconds;  // expires_at - now(); negative when expired
  bool held = false;                         // a holder and expires_at > now()
};

struct LastControllerAction {
  double at = 0;
  double age_seconds = 0;
  std::string actor;
  std::string rule;
  std::string outcome;
};

struct SystemStatus {
  double database_now = 0;
  // Every consumer with pending events, claims or open dead letters, plus "payment" and
  // "webhook" always, by name.
  std::vector<ConsumerStatus> consumers;
  // CREATED, PAYMENT_PENDING, NEEDS_REVIEW: exact, from their partial indexes. PAID and
  // FAILED: exact too but a full count of orders (no index serves it); absent when that
  // count hit statement_timeout (settled_counted is then false).
  std::map<std::string, std::int64_t> orders_by_state;
  bool settled_counted = true;
  std::int64_t stuck_after_seconds = 0;
  std::int64_t stuck_never_sent = 0;       // stuck, no charge_requested_at
  std::int64_t stuck_outcome_unknown = 0;  // stuck, charge requested: outcome unknown
  std::int64_t needs_review = 0;
  std::vector<LeaseStatus> leases;  // every row of controller_leases, by name
  // The newest redrive_log row not written by an operator (actor NOT LIKE 'operator:%'):
  // a sign of life of the controller, not proof that a cycle succeeded (that time is the
  // controller's redrive_last_successful_reconcile_timestamp_seconds metric).
  std::optional<LastControllerAction> last_controller_action;
};

// Stuck: PAYMENT_PENDING, untouched for `stuck_after`, no pending payment event — the
// definition of pg::FindStuckOrders. The live figures share one snapshot; the settled
// counts come after, in their own transaction.
SystemStatus ReadSystemStatus(pqxx::connection_base& connection, std::chrono::seconds stuck_after);

// ---- orders stuck ---------------------------------------------------------------------

struct StuckOrderListing {
  std::string id;
  double updated_at = 0;
  double stuck_seconds = 0;  // now() - updated_at
  std::optional<double> charge_requested_at;
  std::optional<double> charge_request_age_seconds;
  int redrive_count = 0;
  int version = 0;
  long long amount_cents = 0;
  std::string currency;
};

struct StuckOrderList {
  double database_now = 0;
  std::int64_t total = 0;                 // all stuck orders, however many `limit` let through
  std::vector<StuckOrderListing> orders;  // oldest first, at most `limit`
};

StuckOrderList ListStuckOrders(pqxx::connection_base& connection, std::chrono::seconds older_than,
                               int limit);

// ---- order show -----------------------------------------------------------------------

struct OrderRecord {
  std::string id;
  std::string customer_id;
  long long amount_cents = 0;
  std::string currency;
  std::string state;
  int version = 0;
  std::optional<double> charge_requested_at;
  int redrive_count = 0;
  double created_at = 0;
  double updated_at = 0;
};

struct OrderOutboxRow {
  std::int64_t id = 0;
  std::string event_id;
  std::string consumer;
  std::string event_type;
  int attempts = 0;
  double created_at = 0;
  double available_at = 0;
  std::optional<std::string> claimed_by;
  std::optional<double> claimed_until;
  std::optional<double> dead_at;
  std::optional<std::string> last_error;
};

// A consumed event: its outbox row is gone, this is its record (schema/006). The optional
// fields are empty in records older than that migration.
struct OrderProcessedEvent {
  std::string event_id;
  std::string consumer;
  double processed_at = 0;
  std::optional<std::string> event_type;
  std::optional<int> attempts;
  std::optional<double> queued_at;
};

struct OrderDeadLetter {
  std::int64_t id = 0;
  std::int64_t outbox_id = 0;
  std::string event_id;
  std::string consumer;
  std::string event_type;
  std::string reason;
  std::optional<std::string> last_error;
  int attempts = 0;
  double failed_at = 0;
  std::optional<double> replayed_at;
  std::optional<double> discarded_at;
};

struct OrderAuditRow {
  std::int64_t id = 0;
  double at = 0;
  std::string actor;
  std::optional<std::string> cycle_id;
  std::optional<std::int64_t> epoch;
  std::string rule;
  std::optional<std::string> event_id;
  std::optional<std::string> state_before;
  std::optional<int> version_before;
  std::optional<std::string> state_after;
  std::optional<int> version_after;
  std::string outcome;
  std::optional<std::string> reason;
  bool dry_run = false;
};

struct OrderHistory {
  double database_now = 0;
  OrderRecord order;
  std::vector<OrderOutboxRow> outbox;                 // live and dead events, by created_at, id
  std::vector<OrderProcessedEvent> processed_events;  // by processed_at
  std::vector<OrderDeadLetter> dead_letters;          // by failed_at, id
  std::vector<OrderAuditRow> audit;                   // by at, id
};

// Everything the database knows about one order, in one snapshot; nullopt when there is no
// such order. `order_id` must be a uuid (domain::IsUuid).
std::optional<OrderHistory> ReadOrderHistory(pqxx::connection_base& connection,
                                             const std::string& order_id);

// ---- orders place ---------------------------------------------------------------------

struct DemoOrder {
  std::string customer_id;
  long long amount_cents = 0;
};

// place_order() for each, all in one transaction; returns the new order ids in order.
std::vector<std::string> PlaceOrders(pqxx::connection_base& connection,
                                     const std::vector<DemoOrder>& orders,
                                     const std::string& currency);

// The read-only scans above with the index that must serve each, for EXPLAIN checks; where
// the planner may pick either of two partial indexes, `index` names both: "a|b".
std::vector<ControllerScan> InspectScans();

}  // namespace redrive::pg
