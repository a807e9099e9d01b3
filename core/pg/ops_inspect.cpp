#include "core/pg/ops_inspect.hpp"

#include <pqxx/pqxx>

#include "core/pg/claim_head.hpp"
#include "core/pg/outbox_health.hpp"
#include "core/pg/stuck_orders.hpp"

namespace redrive::pg {
namespace {

// ---- status ---------------------------------------------------------------------------

constexpr const char* kDatabaseNow = "SELECT extract(epoch FROM now())::float8";

// Served by outbox_pending_idx (consumer, created_at) WHERE dead_at IS NULL: one pass over
// the unfinished rows, in consumer order.
constexpr const char* kStatusBacklog = R"sql(
SELECT consumer, count(*), extract(epoch FROM now() - min(created_at))::float8
FROM outbox
WHERE dead_at IS NULL
GROUP BY consumer
)sql";

// The head of each consumer's queue, where claimed rows are (claim_head.hpp): bounded by
// what is in flight, whatever the backlog.
const std::string kStatusClaims = kClaimHeadCte + R"sql(
SELECT consumer, count(*) FILTER (WHERE claimed_until > now()),
       count(*) FILTER (WHERE claimed_until <= now())
FROM head
WHERE claimed_by IS NOT NULL
GROUP BY consumer
)sql";

// Each count is served by its state's partial index: orders_created_idx,
// orders_payment_pending_idx and orders_needs_review_idx.
constexpr const char* kStatusLiveStates = R"sql(
SELECT (SELECT count(*) FROM orders WHERE state = 'CREATED'),
       (SELECT count(*) FROM orders WHERE state = 'PAYMENT_PENDING'),
       (SELECT count(*) FROM orders WHERE state = 'NEEDS_REVIEW')
)sql";

// NOT served by an index: a full count of orders, the one scan of `status` whose cost
// follows the table. Acceptable for a command an operator runs by hand; statement_timeout
// bounds it, and when it fires `status` reports the settled counts as unknown instead of
// failing.
constexpr const char* kStatusSettledStates = R"sql(
SELECT count(*) FILTER (WHERE state = 'PAID'), count(*) FILTER (WHERE state = 'FAILED')
FROM orders
WHERE state IN ('PAID', 'FAILED')
)sql";

// The stuck-order definition (kStuckOrdersFromWhere), counted by class.
// Served by orders_payment_pending_idx (updated_at) WHERE state = 'PAYMENT_PENDING'; each
// NOT EXISTS probe is one lookup in outbox_aggregate_idx (aggregate_id, consumer).
const std::string kStatusStuck = R"sql(
SELECT count(*) FILTER (WHERE o.charge_requested_at IS NULL),
       count(*) FILTER (WHERE o.charge_requested_at IS NOT NULL)
)sql" + std::string(kStuckOrdersFromWhere);

// controller_leases holds one row per lease (a handful). expires_at starts at '-infinity'.
constexpr const char* kStatusLeases = R"sql(
SELECT name, holder, epoch,
       CASE WHEN isfinite(expires_at) THEN extract(epoch FROM expires_at)::float8 END,
       CASE WHEN isfinite(expires_at) THEN extract(epoch FROM expires_at - now())::float8 END,
       holder IS NOT NULL AND expires_at > now()
FROM controller_leases
ORDER BY name
)sql";

// Served by redrive_log_at_idx (at), read backwards: stops at the first row not written by
// an operator.
constexpr const char* kStatusLastControllerAction = R"sql(
SELECT extract(epoch FROM at)::float8, extract(epoch FROM now() - at)::float8, actor, rule,
       outcome
FROM redrive_log
WHERE actor NOT LIKE 'operator:%'
ORDER BY at DESC
LIMIT 1
)sql";

// ---- orders stuck ---------------------------------------------------------------------

// The definition of pg::FindStuckOrders with an operator's threshold. Served by
// orders_payment_pending_idx, oldest first, each NOT EXISTS probe by outbox_aggregate_idx.
// count(*) OVER () is taken before LIMIT: how many are stuck in all.
const std::string kListStuckOrders = R"sql(
SELECT o.id::text, extract(epoch FROM o.updated_at)::float8,
       extract(epoch FROM now() - o.updated_at)::float8,
       extract(epoch FROM o.charge_requested_at)::float8,
       extract(epoch FROM now() - o.charge_requested_at)::float8,
       o.redrive_count, o.version, o.amount_cents, o.currency, count(*) OVER ()
)sql" + std::string(kStuckOrdersFromWhere) +
                                     "ORDER BY o.updated_at\nLIMIT $2\n";

// ---- order show -----------------------------------------------------------------------

// Primary key.
constexpr const char* kOrder = R"sql(
SELECT id::text, customer_id, amount_cents, currency, state, version,
       extract(epoch FROM charge_requested_at)::float8, redrive_count,
       extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8
FROM orders
WHERE id = $1
)sql";

// Served by outbox_aggregate_idx (aggregate_id, consumer).
constexpr const char* kOrderOutbox = R"sql(
SELECT id, event_id::text, consumer, event_type, attempts,
       extract(epoch FROM created_at)::float8, extract(epoch FROM available_at)::float8,
       claimed_by, extract(epoch FROM claimed_until)::float8, extract(epoch FROM dead_at)::float8,
       last_error
FROM outbox
WHERE aggregate_id = $1
ORDER BY created_at, id
)sql";

// The order's consumed events (their outbox rows are gone), by
// processed_events_aggregate_idx (aggregate_id). Records written before schema 006 have no
// aggregate_id (the migration filled it in only from completed rows): those whose event
// still has an outbox row are found through it, by outbox_aggregate_idx and then
// processed_events_pkey, as before the migration.
constexpr const char* kOrderProcessedEvents = R"sql(
SELECT p.event_id::text, p.consumer, extract(epoch FROM p.processed_at)::float8, p.event_type,
       p.attempts, extract(epoch FROM p.queued_at)::float8
FROM processed_events p
WHERE p.aggregate_id = $1
UNION
SELECT p.event_id::text, p.consumer, extract(epoch FROM p.processed_at)::float8, p.event_type,
       p.attempts, extract(epoch FROM p.queued_at)::float8
FROM outbox e
JOIN processed_events p ON p.event_id = e.event_id AND p.consumer = e.consumer
WHERE e.aggregate_id = $1
ORDER BY 3, 2
)sql";

// dead_letter_events.aggregate_id has no index, so go through the order's events and
// dead_letter_events_event_idx (event_id): its outbox rows (outbox_aggregate_idx; a
// dead-lettered row stays in the outbox with dead_at set) and its consumed events
// (processed_events_aggregate_idx): a dead letter that was replayed and then completed has
// no outbox row any more.
constexpr const char* kOrderDeadLetters = R"sql(
SELECT d.id, d.outbox_id, d.event_id::text, d.consumer, d.event_type, d.reason, d.last_error,
       d.attempts, extract(epoch FROM d.failed_at)::float8,
       extract(epoch FROM d.replayed_at)::float8, extract(epoch FROM d.discarded_at)::float8
FROM dead_letter_events d
WHERE d.event_id IN (SELECT e.event_id FROM outbox e WHERE e.aggregate_id = $1
                     UNION ALL
                     SELECT p.event_id FROM processed_events p WHERE p.aggregate_id = $1)
ORDER BY d.failed_at, d.id
)sql";

// Served by redrive_log_order_idx (order_id, at) WHERE order_id IS NOT NULL.
constexpr const char* kOrderAudit = R"sql(
SELECT id, extract(epoch FROM at)::float8, actor, cycle_id::text, epoch, rule, event_id::text,
       state_before, version_before, state_after, version_after, outcome, reason, dry_run
FROM redrive_log
WHERE order_id = $1
ORDER BY at, id
)sql";

// ---- orders place ---------------------------------------------------------------------

// The one way to create an order: the order and its payment event in one transaction.
constexpr const char* kPlaceOrder = "SELECT place_order($1, $2, $3)::text";

// ---- helpers --------------------------------------------------------------------------

std::optional<double> OptionalDouble(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<double>();
}

std::optional<std::string> OptionalString(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

std::optional<int> OptionalInt(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<int>();
}

ConsumerStatus& ConsumerEntry(std::map<std::string, ConsumerStatus>& consumers,
                              const std::string& name) {
  auto& entry = consumers[name];
  entry.consumer = name;
  return entry;
}

// The settled counts, in their own transaction so a statement_timeout there costs only them.
bool ReadSettledCounts(pqxx::connection_base& connection,
                       std::map<std::string, std::int64_t>& by_state) {
  try {
    pqxx::read_transaction tx(connection, "status_settled");
    const pqxx::row counts = tx.exec1(kStatusSettledStates);
    tx.commit();
    by_state["PAID"] = counts[0].as<std::int64_t>();
    by_state["FAILED"] = counts[1].as<std::int64_t>();
    return true;
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() == "57014") return false;  // query_canceled: statement_timeout
    throw;
  }
}

}  // namespace

SystemStatus ReadSystemStatus(pqxx::connection_base& connection, std::chrono::seconds stuck_after) {
  SystemStatus status;
  status.stuck_after_seconds = stuck_after.count();
  std::map<std::string, ConsumerStatus> consumers;
  ConsumerEntry(consumers, "payment");
  ConsumerEntry(consumers, "webhook");
  {
    // One snapshot: the figures describe the same moment.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(connection, "status");
    status.database_now = tx.exec1(kDatabaseNow)[0].as<double>();
    for (const auto& row : tx.exec(kStatusBacklog)) {
      auto& entry = ConsumerEntry(consumers, row[0].as<std::string>());
      entry.pending = row[1].as<std::int64_t>();
      entry.oldest_pending_age_seconds = row[2].as<double>();
    }
    for (const auto& row : tx.exec(kStatusClaims)) {
      auto& entry = ConsumerEntry(consumers, row[0].as<std::string>());
      entry.in_flight_claims = row[1].as<std::int64_t>();
      entry.expired_claims = row[2].as<std::int64_t>();
    }
    for (const auto& row : tx.exec(kOpenDeadLettersByConsumer)) {
      ConsumerEntry(consumers, row[0].as<std::string>()).open_dead_letters =
          row[1].as<std::int64_t>();
    }
    const pqxx::row live = tx.exec1(kStatusLiveStates);
    status.orders_by_state["CREATED"] = live[0].as<std::int64_t>();
    status.orders_by_state["PAYMENT_PENDING"] = live[1].as<std::int64_t>();
    status.orders_by_state["NEEDS_REVIEW"] = live[2].as<std::int64_t>();
    status.needs_review = live[2].as<std::int64_t>();
    const pqxx::row stuck = tx.exec_params1(kStatusStuck, static_cast<double>(stuck_after.count()));
    status.stuck_never_sent = stuck[0].as<std::int64_t>();
    status.stuck_outcome_unknown = stuck[1].as<std::int64_t>();
    for (const auto& row : tx.exec(kStatusLeases)) {
      status.leases.push_back({.name = row[0].as<std::string>(),
                               .holder = OptionalString(row[1]),
                               .epoch = row[2].as<std::int64_t>(),
                               .expires_at = OptionalDouble(row[3]),
                               .expires_in_seconds = OptionalDouble(row[4]),
                               .held = row[5].as<bool>()});
    }
    const pqxx::result last = tx.exec(kStatusLastControllerAction);
    if (!last.empty()) {
      status.last_controller_action = LastControllerAction{.at = last[0][0].as<double>(),
                                                           .age_seconds = last[0][1].as<double>(),
                                                           .actor = last[0][2].as<std::string>(),
                                                           .rule = last[0][3].as<std::string>(),
                                                           .outcome = last[0][4].as<std::string>()};
    }
    tx.commit();
  }
  status.settled_counted = ReadSettledCounts(connection, status.orders_by_state);
  for (auto& [name, entry] : consumers) status.consumers.push_back(std::move(entry));
  return status;
}

StuckOrderList ListStuckOrders(pqxx::connection_base& connection, std::chrono::seconds older_than,
                               int limit) {
  pqxx::read_transaction tx(connection, "list_stuck_orders");
  StuckOrderList list;
  list.database_now = tx.exec1(kDatabaseNow)[0].as<double>();
  const pqxx::result rows =
      tx.exec_params(kListStuckOrders, static_cast<double>(older_than.count()), limit);
  tx.commit();
  for (const auto& row : rows) {
    list.orders.push_back({.id = row[0].as<std::string>(),
                           .updated_at = row[1].as<double>(),
                           .stuck_seconds = row[2].as<double>(),
                           .charge_requested_at = OptionalDouble(row[3]),
                           .charge_request_age_seconds = OptionalDouble(row[4]),
                           .redrive_count = row[5].as<int>(),
                           .version = row[6].as<int>(),
                           .amount_cents = row[7].as<long long>(),
                           .currency = row[8].as<std::string>()});
    list.total = row[9].as<std::int64_t>();
  }
  return list;
}

std::optional<OrderHistory> ReadOrderHistory(pqxx::connection_base& connection,
                                             const std::string& order_id) {
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(connection, "order_history");
  OrderHistory history;
  history.database_now = tx.exec1(kDatabaseNow)[0].as<double>();
  const pqxx::result order = tx.exec_params(kOrder, order_id);
  if (order.empty()) return std::nullopt;
  const pqxx::row o = order[0];
  history.order = {.id = o[0].as<std::string>(),
                   .customer_id = o[1].as<std::string>(),
                   .amount_cents = o[2].as<long long>(),
                   .currency = o[3].as<std::string>(),
                   .state = o[4].as<std::string>(),
                   .version = o[5].as<int>(),
                   .charge_requested_at = OptionalDouble(o[6]),
                   .redrive_count = o[7].as<int>(),
                   .created_at = o[8].as<double>(),
                   .updated_at = o[9].as<double>()};
  for (const auto& row : tx.exec_params(kOrderOutbox, order_id)) {
    history.outbox.push_back({.id = row[0].as<std::int64_t>(),
                              .event_id = row[1].as<std::string>(),
                              .consumer = row[2].as<std::string>(),
                              .event_type = row[3].as<std::string>(),
                              .attempts = row[4].as<int>(),
                              .created_at = row[5].as<double>(),
                              .available_at = row[6].as<double>(),
                              .claimed_by = OptionalString(row[7]),
                              .claimed_until = OptionalDouble(row[8]),
                              .dead_at = OptionalDouble(row[9]),
                              .last_error = OptionalString(row[10])});
  }
  for (const auto& row : tx.exec_params(kOrderProcessedEvents, order_id)) {
    history.processed_events.push_back({.event_id = row[0].as<std::string>(),
                                        .consumer = row[1].as<std::string>(),
                                        .processed_at = row[2].as<double>(),
                                        .event_type = OptionalString(row[3]),
                                        .attempts = OptionalInt(row[4]),
                                        .queued_at = OptionalDouble(row[5])});
  }
  for (const auto& row : tx.exec_params(kOrderDeadLetters, order_id)) {
    history.dead_letters.push_back({.id = row[0].as<std::int64_t>(),
                                    .outbox_id = row[1].as<std::int64_t>(),
                                    .event_id = row[2].as<std::string>(),
                                    .consumer = row[3].as<std::string>(),
                                    .event_type = row[4].as<std::string>(),
                                    .reason = row[5].as<std::string>(),
                                    .last_error = OptionalString(row[6]),
                                    .attempts = row[7].as<int>(),
                                    .failed_at = row[8].as<double>(),
                                    .replayed_at = OptionalDouble(row[9]),
                                    .discarded_at = OptionalDouble(row[10])});
  }
  for (const auto& row : tx.exec_params(kOrderAudit, order_id)) {
    OrderAuditRow audit{.id = row[0].as<std::int64_t>(),
                        .at = row[1].as<double>(),
                        .actor = row[2].as<std::string>(),
                        .cycle_id = OptionalString(row[3]),
                        .epoch = std::nullopt,
                        .rule = row[5].as<std::string>(),
                        .event_id = OptionalString(row[6]),
                        .state_before = OptionalString(row[7]),
                        .version_before = OptionalInt(row[8]),
                        .state_after = OptionalString(row[9]),
                        .version_after = OptionalInt(row[10]),
                        .outcome = row[11].as<std::string>(),
                        .reason = OptionalString(row[12]),
                        .dry_run = row[13].as<bool>()};
    if (!row[4].is_null()) audit.epoch = row[4].as<std::int64_t>();
    history.audit.push_back(std::move(audit));
  }
  tx.commit();
  return history;
}

std::vector<std::string> PlaceOrders(pqxx::connection_base& connection,
                                     const std::vector<DemoOrder>& orders,
                                     const std::string& currency) {
  pqxx::work tx(connection, "place_orders");
  std::vector<std::string> ids;
  ids.reserve(orders.size());
  for (const auto& order : orders) {
    ids.push_back(tx.exec_params1(kPlaceOrder, order.customer_id, order.amount_cents, currency)[0]
                      .as<std::string>());
  }
  tx.commit();
  return ids;
}

std::vector<ControllerScan> InspectScans() {
  constexpr const char* kSampleOrder = "'00000000-0000-4000-8000-000000000000'";
  return {
      {"status_backlog", "outbox_pending_idx", kStatusBacklog, ""},
      {"status_claims", "outbox_claimable_idx|outbox_pending_idx", kStatusClaims, ""},
      {"status_dead_letters", "dead_letter_events_open_idx", kOpenDeadLettersByConsumer, ""},
      {"status_created", "orders_created_idx", kStatusLiveStates, ""},
      {"status_payment_pending", "orders_payment_pending_idx", kStatusLiveStates, ""},
      {"status_needs_review", "orders_needs_review_idx", kStatusLiveStates, ""},
      {"status_stuck", "orders_payment_pending_idx", kStatusStuck, "120"},
      {"status_last_controller_action", "redrive_log_at_idx", kStatusLastControllerAction, ""},
      {"list_stuck_orders", "orders_payment_pending_idx", kListStuckOrders, "120, 50"},
      {"order", "orders_pkey", kOrder, kSampleOrder},
      {"order_outbox", "outbox_aggregate_idx", kOrderOutbox, kSampleOrder},
      {"order_processed_events", "processed_events_aggregate_idx", kOrderProcessedEvents,
       kSampleOrder},
      {"order_dead_letters", "dead_letter_events_event_idx", kOrderDeadLetters, kSampleOrder},
      {"order_audit", "redrive_log_order_idx", kOrderAudit, kSampleOrder},
  };
}

}  // namespace redrive::pg
