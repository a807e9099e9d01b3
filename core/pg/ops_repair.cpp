#include "core/pg/ops_repair.hpp"

#include <pqxx/pqxx>

#include "core/pg/fence.hpp"
#include "core/pg/order_store.hpp"

namespace redrive::pg {
namespace {

// Timestamps leave the database as RFC 3339 in UTC, so JSON output is stable whatever the
// session's time zone.
#define REDRIVE_RFC3339(column) \
  "to_char((" column ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define REDRIVE_DEAD_LETTER_COLUMNS \
  "d.id, d.outbox_id, d.event_id::text, d.consumer, d.event_type, d.aggregate_id::text, " \
  "d.reason, d.last_error, d.attempts, " REDRIVE_RFC3339("d.failed_at") ", "              \
  "extract(epoch FROM now() - d.failed_at)::float8, "                                     \
  "CASE WHEN d.replayed_at IS NOT NULL THEN 'replayed' "                                  \
  "     WHEN d.discarded_at IS NOT NULL THEN 'discarded' ELSE 'open' END, " REDRIVE_RFC3339( \
      "coalesce(d.replayed_at, d.discarded_at)")

// The filters shared by the dead-letter scans: '' and a negative window mean "any". The
// statements are planned with their parameters (unnamed, custom plans), so the unused
// filters fold away.
#define REDRIVE_DEAD_LETTER_FILTERS                                  \
  " AND ($1 = '' OR d.consumer = $1) AND ($2 = '' OR d.reason = $2)" \
  " AND ($3::float8 < 0 OR d.failed_at > now() - make_interval(secs => $3::float8))"

// Served by dead_letter_events_open_idx (consumer, failed_at) WHERE replayed_at IS NULL AND
// discarded_at IS NULL: only the open dead letters are read. count(*) OVER () is taken
// before the LIMIT: every match, for "N more".
constexpr const char* kListOpenDeadLetters =
    "SELECT " REDRIVE_DEAD_LETTER_COLUMNS
    ", count(*) OVER () FROM dead_letter_events d"
    " WHERE d.replayed_at IS NULL AND d.discarded_at IS NULL" REDRIVE_DEAD_LETTER_FILTERS
    " ORDER BY d.failed_at DESC, d.id DESC LIMIT $4";

// --all: replayed and discarded ones too. A scan of dead_letter_events, which only ever
// holds failures (an operator command, never a loop).
constexpr const char* kListAllDeadLetters =
    "SELECT " REDRIVE_DEAD_LETTER_COLUMNS
    ", count(*) OVER () FROM dead_letter_events d"
    " WHERE true" REDRIVE_DEAD_LETTER_FILTERS " ORDER BY d.failed_at DESC, d.id DESC LIMIT $4";

// Served by dead_letter_events_open_idx; oldest failure first, so repeated `--max` runs
// work through a backlog in order.
constexpr const char* kSelectOpenDeadLetters =
    "SELECT d.id, count(*) OVER () FROM dead_letter_events d"
    " WHERE d.replayed_at IS NULL AND d.discarded_at IS NULL" REDRIVE_DEAD_LETTER_FILTERS
    " ORDER BY d.failed_at, d.id LIMIT $4";

// By primary key.
constexpr const char* kShowDeadLetter = "SELECT " REDRIVE_DEAD_LETTER_COLUMNS
                                        ", d.payload::text FROM dead_letter_events d"
                                        " WHERE d.id = $1";

// By outbox_event_consumer_key (event_id, consumer): the row the dead letter came from, or
// the one that replaced it; else, by processed_events_pkey, the record of its completion
// (a completed row leaves the outbox).
constexpr const char* kOutboxRowOfEvent =
    "SELECT o.id, CASE WHEN o.dead_at IS NOT NULL THEN 'dead'"
    "                  WHEN o.claimed_by IS NOT NULL THEN 'claimed' ELSE 'pending' END,"
    " o.attempts, " REDRIVE_RFC3339("o.available_at") ", o.claimed_by, " REDRIVE_RFC3339(
        "o.claimed_until") ", NULL, " REDRIVE_RFC3339("o.dead_at") ","
    " o.last_error FROM outbox o WHERE o.event_id = $1::uuid AND o.consumer = $2"
    " UNION ALL"
    " SELECT NULL, 'completed', coalesce(p.attempts, 0), '', NULL, NULL, " REDRIVE_RFC3339(
        "p.processed_at") ", NULL, NULL FROM processed_events p"
    " WHERE p.event_id = $1::uuid AND p.consumer = $2"
    " ORDER BY 1 NULLS LAST LIMIT 1";

// By primary key.
constexpr const char* kOrderBrief = R"sql(
SELECT id::text, state, version FROM orders WHERE id = $1::uuid
)sql";

#undef REDRIVE_DEAD_LETTER_FILTERS
#undef REDRIVE_DEAD_LETTER_COLUMNS
#undef REDRIVE_RFC3339

// ---- Replay and discard (one transaction per dead letter) ------------------------------

// By primary key; the row lock serializes two operators acting on the same dead letter.
constexpr const char* kLockDeadLetter = R"sql(
SELECT event_id::text, consumer, aggregate_id::text,
       CASE WHEN replayed_at IS NOT NULL THEN 'replayed'
            WHEN discarded_at IS NOT NULL THEN 'discarded' ELSE 'open' END,
       to_char(coalesce(replayed_at, discarded_at) AT TIME ZONE 'UTC',
               'YYYY-MM-DD"T"HH24:MI:SS"Z"')
FROM dead_letter_events WHERE id = $1
FOR UPDATE
)sql";

// The dead letter's read, without the lock, for dry runs (read-only transaction).
constexpr const char* kReadDeadLetter = R"sql(
SELECT event_id::text, consumer, aggregate_id::text,
       CASE WHEN replayed_at IS NOT NULL THEN 'replayed'
            WHEN discarded_at IS NOT NULL THEN 'discarded' ELSE 'open' END,
       to_char(coalesce(replayed_at, discarded_at) AT TIME ZONE 'UTC',
               'YYYY-MM-DD"T"HH24:MI:SS"Z"')
FROM dead_letter_events WHERE id = $1
)sql";

// By outbox_event_consumer_key: the row's id and what state it is in.
constexpr const char* kReadOutboxRow = R"sql(
SELECT id, CASE WHEN dead_at IS NOT NULL THEN 'dead'
                WHEN claimed_by IS NOT NULL THEN 'claimed' ELSE 'pending' END
FROM outbox WHERE event_id = $1::uuid AND consumer = $2
)sql";

// By processed_events_pkey: no outbox row and a record means the event was completed.
constexpr const char* kEventCompleted = R"sql(
SELECT 1 FROM processed_events WHERE event_id = $1::uuid AND consumer = $2
)sql";

// The same, locked so a worker's or the controller's write to the row waits for the replay
// to commit (theirs are conditional and then see it live again).
const std::string kLockOutboxRow = std::string(kReadOutboxRow) + "FOR UPDATE\n";

// By primary key, only while the row is still dead: claimable at once, with a fresh set of
// attempts.
constexpr const char* kRequeueOutboxRow = R"sql(
UPDATE outbox
SET dead_at = NULL, attempts = 0, available_at = now(), last_error = NULL,
    claimed_by = NULL, claimed_until = NULL
WHERE id = $1 AND dead_at IS NOT NULL
)sql";

// The outbox row was deleted by hand, not completed: the dead letter still has everything
// it held. The insert trigger notifies the consumer's workers.
constexpr const char* kRecreateOutboxRow = R"sql(
INSERT INTO outbox (event_id, consumer, event_type, aggregate_id, payload)
SELECT event_id, consumer, event_type, aggregate_id, payload
FROM dead_letter_events WHERE id = $1
ON CONFLICT (event_id, consumer) DO NOTHING
)sql";

// By primary key, only while open.
constexpr const char* kMarkReplayed = R"sql(
UPDATE dead_letter_events SET replayed_at = now()
WHERE id = $1 AND replayed_at IS NULL AND discarded_at IS NULL
)sql";

constexpr const char* kMarkDiscarded = R"sql(
UPDATE dead_letter_events SET discarded_at = now()
WHERE id = $1 AND replayed_at IS NULL AND discarded_at IS NULL
)sql";

// The channel of outbox_notify() (schema/001): an UPDATE does not fire the insert trigger,
// so idle workers are woken here. Delivered at commit.
constexpr const char* kNotifyConsumer = R"sql(
SELECT pg_notify('redrive_outbox_' || $1, 'redrive_replay')
)sql";

// ---- Orders in NEEDS_REVIEW -----------------------------------------------------------

// Served by orders_needs_review_idx (updated_at) WHERE state = 'NEEDS_REVIEW', oldest
// first; each order's newest reason by redrive_log_order_idx (order_id, at).
constexpr const char* kListNeedsReview = R"sql(
SELECT o.id::text, extract(epoch FROM now() - o.updated_at)::float8, o.amount_cents,
       o.currency, o.redrive_count, o.version,
       (SELECT l.reason FROM redrive_log l
        WHERE l.order_id = o.id AND l.reason IS NOT NULL
        ORDER BY l.at DESC, l.id DESC LIMIT 1),
       count(*) OVER ()
FROM orders o
WHERE o.state = 'NEEDS_REVIEW'
ORDER BY o.updated_at, o.id
LIMIT $1
)sql";

// By primary key.
constexpr const char* kReadOrder = R"sql(
SELECT state, version, amount_cents, currency FROM orders WHERE id = $1::uuid
)sql";

// By primary key: the compare-and-set on the state and version the operator's read saw.
constexpr const char* kResolveOrder = R"sql(
UPDATE orders SET state = $2, version = version + 1
WHERE id = $1::uuid AND state = 'NEEDS_REVIEW' AND version = $3
RETURNING version
)sql";

std::optional<std::string> OptionalText(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

DeadLetterRow ReadDeadLetterRow(const pqxx::row& row) {
  DeadLetterRow dead;
  dead.id = row[0].as<std::int64_t>();
  dead.outbox_id = row[1].as<std::int64_t>();
  dead.event_id = row[2].as<std::string>();
  dead.consumer = row[3].as<std::string>();
  dead.event_type = row[4].as<std::string>();
  dead.order_id = OptionalText(row[5]);
  dead.reason = row[6].as<std::string>();
  dead.last_error = OptionalText(row[7]);
  dead.attempts = row[8].as<int>();
  dead.failed_at = row[9].as<std::string>();
  dead.age_seconds = row[10].as<double>();
  dead.status = row[11].as<std::string>();
  dead.closed_at = OptionalText(row[12]);
  return dead;
}

double WindowParameter(const DeadLetterFilter& filter) {
  return filter.failed_within_seconds ? static_cast<double>(*filter.failed_within_seconds) : -1.0;
}

AuditEntry OperatorAudit(const OperatorAction& action, const std::string& rule) {
  AuditEntry entry;
  entry.actor = action.actor;
  entry.epoch = 0;  // operators hold no lease
  entry.rule = rule;
  entry.reason = action.reason;
  return entry;
}

// What a dead-letter action found before acting.
struct DeadLetterLookup {
  bool found = false;
  std::string status;  // open, replayed, discarded
  std::optional<std::string> closed_at;
};

DeadLetterLookup LookUpDeadLetter(pqxx::transaction_base& tx, std::int64_t id, bool lock,
                                  DeadLetterActionResult& result) {
  const pqxx::result rows = tx.exec_params(lock ? kLockDeadLetter : kReadDeadLetter, id);
  if (rows.empty()) return {};
  result.event_id = rows[0][0].as<std::string>();
  result.consumer = rows[0][1].as<std::string>();
  result.order_id = OptionalText(rows[0][2]);
  return {
      .found = true, .status = rows[0][3].as<std::string>(), .closed_at = OptionalText(rows[0][4])};
}

std::string AlreadyClosed(const DeadLetterLookup& lookup) {
  return "already " + lookup.status + (lookup.closed_at ? " at " + *lookup.closed_at : "");
}

void AuditDeadLetter(pqxx::transaction_base& tx, const OperatorAction& action,
                     const std::string& rule, const DeadLetterActionResult& result) {
  AuditEntry entry = OperatorAudit(action, rule);
  entry.order_id = result.order_id;
  entry.event_id = result.event_id;
  entry.outcome = result.outcome;
  if (result.outcome == "skipped") entry.reason += " (skipped: " + result.detail + ")";
  AppendAudit(tx, entry);
}

}  // namespace

DeadLetterPage ListDeadLetters(pqxx::connection_base& connection, const DeadLetterFilter& filter) {
  pqxx::read_transaction tx(connection, "list_dead_letters");
  const pqxx::result rows =
      tx.exec_params(filter.include_closed ? kListAllDeadLetters : kListOpenDeadLetters,
                     filter.consumer.value_or(""), filter.reason.value_or(""),
                     WindowParameter(filter), filter.limit);
  tx.commit();
  DeadLetterPage page;
  for (const auto& row : rows) {
    page.rows.push_back(ReadDeadLetterRow(row));
    page.total = row[13].as<std::int64_t>();
  }
  return page;
}

std::optional<DeadLetterDetail> ShowDeadLetter(pqxx::connection_base& connection, std::int64_t id) {
  pqxx::read_transaction tx(connection, "show_dead_letter");
  const pqxx::result rows = tx.exec_params(kShowDeadLetter, id);
  if (rows.empty()) return std::nullopt;
  DeadLetterDetail detail;
  detail.dead_letter = ReadDeadLetterRow(rows[0]);
  detail.payload_json = rows[0][13].as<std::string>();

  const pqxx::result outbox =
      tx.exec_params(kOutboxRowOfEvent, detail.dead_letter.event_id, detail.dead_letter.consumer);
  if (!outbox.empty()) {
    const auto& row = outbox[0];
    detail.outbox = OutboxRowState{
        .id = row[0].is_null() ? std::nullopt : std::optional(row[0].as<std::int64_t>()),
        .status = row[1].as<std::string>(),
        .attempts = row[2].as<int>(),
        .available_at = row[3].as<std::string>(),
        .claimed_by = OptionalText(row[4]),
        .claimed_until = OptionalText(row[5]),
        .completed_at = OptionalText(row[6]),
        .dead_at = OptionalText(row[7]),
        .last_error = OptionalText(row[8])};
  }
  if (detail.dead_letter.order_id) {
    const pqxx::result order = tx.exec_params(kOrderBrief, *detail.dead_letter.order_id);
    if (!order.empty()) {
      detail.order = OrderBrief{.id = order[0][0].as<std::string>(),
                                .state = order[0][1].as<std::string>(),
                                .version = order[0][2].as<int>()};
    }
  }
  tx.commit();
  return detail;
}

DeadLetterSelection SelectOpenDeadLetters(pqxx::connection_base& connection,
                                          const DeadLetterFilter& filter) {
  pqxx::read_transaction tx(connection, "select_open_dead_letters");
  const pqxx::result rows =
      tx.exec_params(kSelectOpenDeadLetters, filter.consumer.value_or(""),
                     filter.reason.value_or(""), WindowParameter(filter), filter.limit);
  tx.commit();
  DeadLetterSelection selection;
  for (const auto& row : rows) {
    selection.ids.push_back(row[0].as<std::int64_t>());
    selection.total = row[1].as<std::int64_t>();
  }
  return selection;
}

DeadLetterActionResult ReplayDeadLetter(pqxx::connection_base& connection, std::int64_t id,
                                        const OperatorAction& action) {
  DeadLetterActionResult result;
  result.id = id;
  auto decide = [&](pqxx::transaction_base& tx, bool lock) -> std::optional<std::int64_t> {
    // Returns the outbox row to requeue (0: re-create it); nullopt: nothing to do.
    const DeadLetterLookup lookup = LookUpDeadLetter(tx, id, lock, result);
    if (!lookup.found) {
      result.outcome = "not_found";
      result.detail = "no dead letter with this id";
      return std::nullopt;
    }
    if (lookup.status != "open") {
      result.outcome = "skipped";
      result.detail = AlreadyClosed(lookup);
      return std::nullopt;
    }
    const pqxx::result outbox =
        tx.exec_params(lock ? kLockOutboxRow : kReadOutboxRow, *result.event_id, *result.consumer);
    if (outbox.empty() &&
        !tx.exec_params(kEventCompleted, *result.event_id, *result.consumer).empty()) {
      result.outcome = "skipped";
      result.detail = "its event is completed: discard the dead letter instead";
      return std::nullopt;
    }
    if (outbox.empty()) {
      result.outcome = action.dry_run ? "dry_run" : "applied";
      result.detail = "outbox row was deleted: re-created from the dead letter";
      return 0;
    }
    const std::string status = outbox[0][1].as<std::string>();
    if (status != "dead") {
      result.outcome = "skipped";
      result.detail = "its event is " + status + " in the outbox" +
                      (status == "completed" ? ": discard the dead letter instead" : "");
      return std::nullopt;
    }
    result.outcome = action.dry_run ? "dry_run" : "applied";
    result.detail = "re-enqueued with attempts reset";
    return outbox[0][0].as<std::int64_t>();
  };

  if (action.dry_run) {
    pqxx::read_transaction tx(connection, "dlq_replay_dry_run");
    decide(tx, /*lock=*/false);
    tx.commit();
    return result;
  }

  pqxx::work tx(connection, "dlq_replay");
  const std::optional<std::int64_t> outbox_id = decide(tx, /*lock=*/true);
  if (result.outcome == "not_found") return result;  // nothing to audit against
  if (outbox_id) {
    const pqxx::result requeued = *outbox_id == 0 ? tx.exec_params(kRecreateOutboxRow, id)
                                                  : tx.exec_params(kRequeueOutboxRow, *outbox_id);
    const pqxx::result marked = tx.exec_params(kMarkReplayed, id);
    // Both rows are locked and were checked above, so neither guard can fail here; if one
    // did, the whole replay is rolled back rather than half done.
    if (requeued.affected_rows() != 1 || marked.affected_rows() != 1) {
      tx.abort();
      result.outcome = "skipped";
      result.detail = "the dead letter or its event changed while replaying";
      return result;
    }
    tx.exec_params(kNotifyConsumer, *result.consumer);
  }
  AuditDeadLetter(tx, action, "dlq_replay", result);
  tx.commit();
  return result;
}

DeadLetterActionResult DiscardDeadLetter(pqxx::connection_base& connection, std::int64_t id,
                                         const OperatorAction& action) {
  DeadLetterActionResult result;
  result.id = id;
  auto decide = [&](pqxx::transaction_base& tx, bool lock) {
    const DeadLetterLookup lookup = LookUpDeadLetter(tx, id, lock, result);
    if (!lookup.found) {
      result.outcome = "not_found";
      result.detail = "no dead letter with this id";
      return false;
    }
    if (lookup.status != "open") {
      result.outcome = "skipped";
      result.detail = AlreadyClosed(lookup);
      return false;
    }
    result.outcome = action.dry_run ? "dry_run" : "applied";
    result.detail = "discarded; its event stays dead";
    return true;
  };

  if (action.dry_run) {
    pqxx::read_transaction tx(connection, "dlq_discard_dry_run");
    decide(tx, /*lock=*/false);
    tx.commit();
    return result;
  }

  pqxx::work tx(connection, "dlq_discard");
  const bool discard = decide(tx, /*lock=*/true);
  if (result.outcome == "not_found") return result;
  if (discard && tx.exec_params(kMarkDiscarded, id).affected_rows() != 1) {
    tx.abort();
    result.outcome = "skipped";
    result.detail = "the dead letter changed while discarding";
    return result;
  }
  AuditDeadLetter(tx, action, "dlq_discard", result);
  tx.commit();
  return result;
}

ReviewPage ListNeedsReview(pqxx::connection_base& connection, int limit) {
  pqxx::read_transaction tx(connection, "list_needs_review");
  const pqxx::result rows = tx.exec_params(kListNeedsReview, limit);
  tx.commit();
  ReviewPage page;
  for (const auto& row : rows) {
    page.rows.push_back(ReviewOrderRow{.id = row[0].as<std::string>(),
                                       .in_review_seconds = row[1].as<double>(),
                                       .amount_cents = row[2].as<long long>(),
                                       .currency = row[3].as<std::string>(),
                                       .redrive_count = row[4].as<int>(),
                                       .version = row[5].as<int>(),
                                       .last_reason = OptionalText(row[6])});
    page.total = row[7].as<std::int64_t>();
  }
  return page;
}

ResolveResult ResolveReview(pqxx::connection_base& connection, const std::string& order_id,
                            bool paid, const OperatorAction& action) {
  const std::string target = paid ? "PAID" : "FAILED";
  pqxx::work tx(connection, "review_resolve");
  ResolveResult result;
  const pqxx::result read = tx.exec_params(kReadOrder, order_id);
  if (read.empty()) return result;  // kNotFound; the transaction rolls back, nothing written
  result.state_before = read[0][0].as<std::string>();
  result.version_before = read[0][1].as<int>();
  const long long amount_cents = read[0][2].as<long long>();
  const std::string currency = read[0][3].as<std::string>();
  if (result.state_before != "NEEDS_REVIEW") {
    result.status = ResolveStatus::kNotInReview;
    return result;
  }
  result.state_after = target;
  result.version_after = result.version_before + 1;
  if (action.dry_run) {
    result.status = ResolveStatus::kResolved;
    return result;  // nothing written: the transaction rolls back
  }

  const pqxx::result updated =
      tx.exec_params(kResolveOrder, order_id, target, result.version_before);
  if (updated.empty()) {
    // Someone wrote the order since our read: another operator resolving it, most likely.
    tx.abort();
    pqxx::read_transaction again(connection, "review_resolve_reread");
    const pqxx::result now = again.exec_params(kReadOrder, order_id);
    again.commit();
    result.state_after.reset();
    result.version_after.reset();
    if (now.empty()) return ResolveResult{};
    result.state_before = now[0][0].as<std::string>();
    result.version_before = now[0][1].as<int>();
    result.status = result.state_before == "NEEDS_REVIEW" ? ResolveStatus::kConflict
                                                          : ResolveStatus::kNotInReview;
    return result;
  }
  result.version_after = updated[0][0].as<int>();
  result.webhook_event_id =
      QueueSettlementWebhook(tx, SettlementWebhook{.order_id = order_id,
                                                   .paid = paid,
                                                   .amount_cents = amount_cents,
                                                   .currency = currency,
                                                   .charge_id = std::nullopt,
                                                   .payment_event_id = std::nullopt});
  AuditEntry entry = OperatorAudit(action, "review_resolve");
  entry.order_id = order_id;
  entry.event_id = result.webhook_event_id;
  entry.state_before = result.state_before;
  entry.version_before = result.version_before;
  entry.state_after = result.state_after;
  entry.version_after = result.version_after;
  entry.outcome = "applied";
  AppendAudit(tx, entry);
  tx.commit();
  result.status = ResolveStatus::kResolved;
  return result;
}

}  // namespace redrive::pg
