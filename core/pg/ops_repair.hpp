#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

// The SQL behind `redrivectl dlq` and `redrivectl review`: operators find, replay, discard
// and settle stuck work without writing SQL. Every write is one transaction per item,
// conditional on the row still being what the operator saw (safe to run twice, or twice at
// once), and ends with a redrive_log row (actor operator:<name>, no cycle, epoch 0).
namespace redrive::pg {

// ---- Dead letters ---------------------------------------------------------------------

// Which dead letters: all filters are optional and combine with AND. Without
// include_closed only the open ones (replayed_at and discarded_at NULL) are seen.
struct DeadLetterFilter {
  std::optional<std::string> consumer;
  std::optional<std::string> reason;                  // dead_letter_events.reason, exact
  std::optional<std::int64_t> failed_within_seconds;  // failed_at > now() - this
  bool include_closed = false;
  int limit = 100;
};

struct DeadLetterRow {
  std::int64_t id = 0;
  std::int64_t outbox_id = 0;
  std::string event_id;
  std::string consumer;
  std::string event_type;
  std::optional<std::string> order_id;  // aggregate_id
  std::string reason;
  std::optional<std::string> last_error;
  int attempts = 0;
  std::string failed_at;                 // RFC 3339, UTC
  double age_seconds = 0;                // now() - failed_at, by the database's clock
  std::string status;                    // open, replayed, discarded
  std::optional<std::string> closed_at;  // replayed_at or discarded_at, RFC 3339
};

struct DeadLetterPage {
  std::vector<DeadLetterRow> rows;  // newest failure first, at most filter.limit
  std::int64_t total = 0;           // every match, beyond the limit too
};

DeadLetterPage ListDeadLetters(pqxx::connection_base& connection, const DeadLetterFilter& filter);

// The outbox row a dead letter came from, as it is now; once completed, the row is gone and
// this is its processed_events record (no id, only attempts and completed_at).
struct OutboxRowState {
  std::optional<std::int64_t> id;
  std::string status;  // dead, pending, claimed, completed
  int attempts = 0;
  std::string available_at;
  std::optional<std::string> claimed_by;
  std::optional<std::string> claimed_until;
  std::optional<std::string> completed_at;
  std::optional<std::string> dead_at;
  std::optional<std::string> last_error;
};

struct OrderBrief {
  std::string id;
  std::string state;
  int version = 0;
};

struct DeadLetterDetail {
  DeadLetterRow dead_letter;
  std::string payload_json;              // the payload as stored (JSON text)
  std::optional<OutboxRowState> outbox;  // nullopt when the row is gone
  std::optional<OrderBrief> order;       // the aggregate, when it is an order that exists
};

std::optional<DeadLetterDetail> ShowDeadLetter(pqxx::connection_base& connection, std::int64_t id);

// The open dead letters that match `filter` (include_closed ignored), oldest failure first,
// at most filter.limit, and how many match in all.
struct DeadLetterSelection {
  std::vector<std::int64_t> ids;
  std::int64_t total = 0;
};

DeadLetterSelection SelectOpenDeadLetters(pqxx::connection_base& connection,
                                          const DeadLetterFilter& filter);

// Who does an operator action and why. With dry_run nothing at all is written: the answer
// says what would happen (outcome "dry_run" for what would be applied).
struct OperatorAction {
  std::string actor;   // operator:<name>
  std::string reason;  // required by the CLI; recorded in redrive_log.reason
  bool dry_run = false;
};

struct DeadLetterActionResult {
  std::int64_t id = 0;
  std::optional<std::string> event_id;  // unset when not found
  std::optional<std::string> consumer;
  std::optional<std::string> order_id;
  std::string outcome;  // applied, skipped, dry_run, not_found
  std::string detail;   // why skipped, or what was done
};

// Re-enqueues the dead letter's event: in one transaction the dead letter is marked
// replayed (only while open) and its outbox row becomes claimable again with attempts 0
// (only while it is dead; re-created from the dead letter if it was deleted), the
// consumer's workers are notified, and a redrive_log row (rule dlq_replay) records it. A
// dead letter that is no longer open, or whose event is pending or completed, is skipped
// (audited as skipped, nothing else changes). The payment idempotency key is the order's,
// so a replayed payment event never charges twice.
DeadLetterActionResult ReplayDeadLetter(pqxx::connection_base& connection, std::int64_t id,
                                        const OperatorAction& action);

// Marks the dead letter discarded (only while open) and audits it (rule dlq_discard); the
// outbox row stays dead. Discarding again is skipped.
DeadLetterActionResult DiscardDeadLetter(pqxx::connection_base& connection, std::int64_t id,
                                         const OperatorAction& action);

// ---- Orders in NEEDS_REVIEW -----------------------------------------------------------

struct ReviewOrderRow {
  std::string id;
  double in_review_seconds = 0;  // now() - updated_at: nothing automated writes these orders
  long long amount_cents = 0;
  std::string currency;
  int redrive_count = 0;
  int version = 0;
  std::optional<std::string> last_reason;  // the newest redrive_log reason for the order
};

struct ReviewPage {
  std::vector<ReviewOrderRow> rows;  // longest in review first
  std::int64_t total = 0;
};

ReviewPage ListNeedsReview(pqxx::connection_base& connection, int limit);

enum class ResolveStatus {
  kResolved,     // written (or, in a dry run, would be)
  kNotFound,     // no such order
  kNotInReview,  // the order is in another state (already PAID, say): nothing written
  kConflict,     // the order changed between the read and the write: nothing written
};

struct ResolveResult {
  ResolveStatus status = ResolveStatus::kNotFound;
  std::string state_before;
  int version_before = 0;
  std::optional<std::string> state_after;
  std::optional<int> version_after;
  std::optional<std::string> webhook_event_id;  // the PaymentSucceeded/PaymentFailed event
};

// Settles an order an operator checked by hand: NEEDS_REVIEW -> PAID|FAILED (the caller
// checks domain::CanOperatorResolve), conditional on the state and the version read,
// version + 1, the settlement webhook event queued and a redrive_log row (rule
// review_resolve, states and versions before and after), all in one transaction.
ResolveResult ResolveReview(pqxx::connection_base& connection, const std::string& order_id,
                            bool paid, const OperatorAction& action);

}  // namespace redrive::pg
