#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/decide/claim_cursor.hpp"

namespace pqxx {
class connection_base;
class transaction_base;
}  // namespace pqxx

// The outbox claim protocol, as SQL run by the workers. Every write is guarded by the row's
// current state (not completed, not dead, and where it matters still claimed by us), so a
// controller re-driving the row or a second worker can never be overwritten.
namespace redrive::pg {

struct ClaimedEvent {
  std::int64_t outbox_id = 0;
  std::string event_id;
  std::string consumer;
  std::string event_type;
  std::optional<std::string> aggregate_id;
  // The payload as JSON text; nullopt when it is larger than the claim's size limit (it is
  // not even read: a poison row must not cost the worker its memory).
  std::optional<std::string> payload;
  std::int64_t payload_bytes = 0;
  int attempts = 0;                  // claims so far, this one included
  double database_now_epoch = 0;     // the database's now() at claim time, in unix seconds
  std::int64_t available_at_us = 0;  // its place in the queue, with outbox_id (ClaimCursor)
};

struct ClaimRequest {
  std::string consumer;
  std::string instance_id;
  int limit = 1;
  std::chrono::seconds lease{30};
  std::int64_t max_payload_bytes = 64 * 1024;
  std::optional<decide::QueuePosition> after = std::nullopt;  // start after it; nullopt: head
};

// One transaction: up to `limit` claimable rows of the consumer, oldest available first
// (after `after`, when given), skipping rows other workers hold locked.
std::vector<ClaimedEvent> Claim(pqxx::connection_base& connection, const ClaimRequest& request);

// Completes the rows: deletes them from the outbox and records each in processed_events
// (event, consumer, order, type, attempts, queueing time), in one statement and one transaction: a
// worker's concurrent completions share one commit. Rows already completed (gone) or
// dead-lettered are left alone. Returns how many rows it completed.
std::int64_t CompleteMany(pqxx::connection_base& connection,
                          const std::vector<std::int64_t>& outbox_ids);

// The same, inside the caller's transaction (the payment settle commits the order's new
// state, the webhook event and the completion together).
bool CompleteInTransaction(pqxx::transaction_base& tx, const ClaimedEvent& event);

// Gives the row back for a later attempt at now() + delay. Only while we still hold the
// claim: false when the controller or another worker has taken it meanwhile.
bool Release(pqxx::connection_base& connection, const ClaimedEvent& event,
             const std::string& instance_id, std::chrono::milliseconds delay,
             const std::string& last_error);

// Moves the row to dead_letter_events with a reason and marks it dead, in one transaction.
// False when the row was already completed (gone) or dead.
bool DeadLetter(pqxx::connection_base& connection, const ClaimedEvent& event,
                const std::string& reason, const std::string& last_error);

// On drain: every unfinished row this instance still holds becomes claimable at once.
int ReleaseAllClaims(pqxx::connection_base& connection, const std::string& instance_id,
                     const std::string& consumer);

}  // namespace redrive::pg
